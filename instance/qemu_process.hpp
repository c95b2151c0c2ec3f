// An instance's QEMU process: started, found again and stopped, side by side.
//
// Start: kvmrun creates QEMU's listening control sockets and holds the instance lock; QEMU
// inherits both (qemu_argv.hpp names the descriptor numbers), so clients can connect the moment
// it starts and the lock is held for exactly as long as QEMU lives.
// Find: an instance runs when its lock is held and the pid the lock records is a QEMU whose
// command line names this lab and instance (qemu_argv.hpp's name_option); a lock held by
// anything else is reported as such, never taken for a stopped instance.
// Stop: a ladder, each step bounded by the instance's shutdown timeout:
//   ACPI powerdown (QMP) -> QMP quit -> SIGTERM -> SIGKILL
// Cleanup removes the sockets and the lock file only while holding the lock, so nothing a live
// QEMU (or another kvmrun) still holds is ever deleted.
#pragma once

#include "base/result.hpp"
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "instance/lock.hpp"
#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace kvmrun::instance {

// Starts QEMU with `argv`, its control sockets and the held `lock` as inherited descriptors,
// its output appended to the instance's qemu.log, and records its pid in the lock. With
// `die_with_parent`, QEMU is killed when this process ends (attached mode). `extra_fds` are
// passed on too (descriptor number in QEMU, ours): root mode's tap devices. With `run_as`, QEMU
// runs as that user (root's kvmrun: instance/qemu_user.hpp), its console log theirs. On
// failure the sockets it made are removed; the lock stays with the caller.
[[nodiscard]] Result<pid_t> start_qemu(const InstancePaths& paths,
                                       const std::vector<std::string>& argv, InstanceLock& lock,
                                       bool die_with_parent,
                                       const std::vector<std::pair<int, int>>& extra_fds = {},
                                       const std::optional<Credentials>& run_as = std::nullopt);

struct Liveness {
  enum class State {
    stopped, // the lock is free (or absent)
    running, // held, and the recorded pid is this instance's QEMU
    foreign, // held by something kvmrun cannot match to the instance's QEMU
  };
  State state = State::stopped;
  std::optional<pid_t> pid; // what the lock records
};
[[nodiscard]] Liveness probe_instance(const InstancePaths& paths, std::string_view lab,
                                      std::string_view instance);

// The QEMU of this instance, if it runs.
[[nodiscard]] std::optional<pid_t> running_pid(const InstancePaths& paths, std::string_view lab,
                                               std::string_view instance);

// ErrorCode::busy for a `foreign` lock: names the holder where the lock records one.
[[nodiscard]] Error held_by_another(std::string_view instance, const Liveness& liveness);

struct StopResult {
  std::string step; // the step that ended it: "powerdown", "quit", "SIGTERM", "SIGKILL"
  std::chrono::milliseconds took{0};
};

// "stopped (powerdown, 1.2 s)": how `down` and `up --attach` report a stop.
[[nodiscard]] std::string stopped_text(const StopResult& stopped);

// Stops the instance's QEMU `pid` and removes its runtime files. `progress` hears each step.
[[nodiscard]] Result<StopResult>
stop_instance(const InstancePaths& paths, std::string_view lab, const lab::InstanceSpec& instance,
              pid_t pid, const std::function<void(const std::string&)>& progress);

struct StopRequest {
  InstancePaths paths;
  const lab::InstanceSpec* instance = nullptr;
  pid_t pid = -1;
};
// Stops every requested instance at once, one thread each, so stopping a lab takes as long as
// its slowest instance, not the sum. `progress` hears (instance, step) from those threads, one
// call at a time. The results are in the requests' order.
[[nodiscard]] std::vector<Result<StopResult>>
stop_instances(std::string_view lab, const std::vector<StopRequest>& requests,
               const std::function<void(const std::string&, const std::string&)>& progress);

// Removes the sockets and the lock file of a stopped instance, and its runtime directory if
// empty, while holding its lock: `held` when the caller has it, else taken here, waiting up to
// `cleanup_wait` for another kvmrun cleaning up the same instance. ErrorCode::busy (and nothing
// removed) when someone else still holds it then.
inline constexpr std::chrono::milliseconds cleanup_wait{5000};
[[nodiscard]] Status remove_runtime_files(const InstancePaths& paths, std::string_view instance,
                                          std::optional<InstanceLock> held = std::nullopt);

// Seconds since `pid` started, from /proc.
[[nodiscard]] std::optional<double> process_uptime(pid_t pid);

} // namespace kvmrun::instance
