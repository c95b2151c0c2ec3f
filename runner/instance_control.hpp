// Finding and stopping a running instance. An instance runs when its lock is held and the pid
// the lock records is a QEMU started for this lab and instance; stopping climbs a ladder, each
// step bounded by the instance's shutdown timeout:
//   ACPI powerdown (QMP) -> QMP quit -> SIGTERM -> SIGKILL
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "lab/lab_spec.hpp"
#include "runner/instance_paths.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace kvmrun::runner {

// The QEMU of this instance, if it runs (lock held, and /proc/<pid>/cmdline names it).
[[nodiscard]] std::optional<pid_t> running_pid(const InstancePaths& paths, std::string_view lab,
                                               std::string_view instance);

struct StopResult {
  std::string step; // the step that ended it: "powerdown", "quit", "SIGTERM", "SIGKILL"
  std::chrono::milliseconds took{0};
};

// "stopped (powerdown, 1.2 s)": how `down` and `up --attach` report a stop.
[[nodiscard]] std::string stopped_text(const StopResult& stopped);

// Stops the instance's QEMU and removes its runtime directory. `progress` hears each step.
[[nodiscard]] Result<StopResult>
stop_instance(const InstancePaths& paths, std::string_view lab, const lab::InstanceSpec& instance,
              pid_t pid, const std::function<void(const std::string&)>& progress);

// QEMU's control sockets (InstancePaths::sockets), listening, each paired with the descriptor
// number QEMU's argv gives it (qemu_argv.hpp): what `up` passes on to QEMU.
[[nodiscard]] Result<std::vector<std::pair<int, UniqueFd>>>
listen_runtime_sockets(const InstancePaths& paths);

// Removes the sockets and the lock of a stopped instance, and its directory if empty.
void remove_runtime_files(const InstancePaths& paths);

// Waits until `pid` has exited (reaping it if it is our child). True if it did in time.
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// Seconds since `pid` started, from /proc.
[[nodiscard]] std::optional<double> process_uptime(pid_t pid);

} // namespace kvmrun::runner
