// A lab network's switch: a small process (`kvmrun switch ...`, the same static binary) that
// forwards Ethernet frames between the lab's QEMUs over unix datagram sockets (QEMU 7.2's
// `-netdev dgram`). Connectionless: every frame is a sendto() to a path, so a restarted switch
// is found again by the QEMUs without their help. Started by `up` when a network needs it,
// found again through its lock (held for exactly as long as it runs, recording its pid) and its
// command line, stopped by `down` when the last member is down. It accepts frames only from its
// members' port sockets (segment_paths.hpp), in the lab's 0700 runtime directory: a process
// that is not a member, or a member of another lab, cannot join.
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "base/subprocess.hpp"
#include "network/segment_paths.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace kvmrun::network {

struct SwitchSpec {
  std::filesystem::path lab_runtime; // <runtime>/<lab>
  std::string network;
  std::vector<std::string> members; // instance names: their port sockets may send
};

// The switch's own argv: `SELF switch LAB_RUNTIME NETWORK READY_FD MEMBER...`.
[[nodiscard]] std::vector<std::string> switch_argv(const std::filesystem::path& self,
                                                   const SwitchSpec& spec, int ready_fd);
// The inverse, for the `switch` command: positional arguments after "switch".
[[nodiscard]] Result<std::pair<SwitchSpec, int>>
parse_switch_args(const std::vector<std::string>& positional);

// The switch's main loop, in its own process: takes the lock (ErrorCode::busy when another
// switch runs), binds its socket, writes "ready\n" to `ready_fd` (if >= 0), forwards frames
// until SIGTERM, SIGINT or SIGHUP, then removes its socket and lock. Logs to stderr.
[[nodiscard]] Status run_switch(const SwitchSpec& spec, int ready_fd);

struct SwitchState {
  enum class State { stopped, running, foreign };
  State state = State::stopped;
  std::optional<pid_t> pid;         // what its lock records
  std::vector<std::string> members; // a running switch's, from its command line
};
[[nodiscard]] SwitchState probe_switch(const std::filesystem::path& lab_runtime,
                                       std::string_view network);

// Starts the switch (detached, its output appended to `log`) and waits until it is ready. A
// switch that already runs with these members is left as it is; one with other members (the
// lab changed) is restarted, which its members' QEMUs ride through. Returns the switch's pid.
// With `run_as` (root's kvmrun), the switch runs as QEMU's user, in a directory that user owns.
[[nodiscard]] Result<pid_t> start_switch(const std::filesystem::path& self, const SwitchSpec& spec,
                                         const std::filesystem::path& log, bool die_with_parent,
                                         const std::optional<Credentials>& run_as,
                                         Deadline deadline);

// Stops a running switch: SIGTERM, then SIGKILL, each bounded by `step`. Only a process the
// lock and its command line identify as this network's switch is signalled.
[[nodiscard]] Status stop_switch(const std::filesystem::path& lab_runtime, std::string_view network,
                                 std::chrono::milliseconds step);

} // namespace kvmrun::network
