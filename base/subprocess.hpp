// Child processes: short-lived helper commands (`qemu-system-x86_64 --version`, ...) run with a
// deadline and captured output (run_command, over Boost.Process; this file's .cpp is the only
// one that includes it), and long-lived children such as QEMU started in the background with
// exactly the descriptors they are given (spawn_background). argv is a vector of strings, never
// a shell string. Starting and stopping QEMU itself lives in instance/qemu_process.hpp.
#pragma once

#include "base/result.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace kvmrun {

struct CommandOptions {
  std::chrono::milliseconds timeout{10'000};
  std::size_t output_limit = 1U << 20U; // per stream; the rest is read and dropped
};

struct CommandOutput {
  int exit_code = -1; // valid when !signaled
  int signal = 0;     // the signal that ended it, when signaled
  bool signaled = false;
  std::string out;
  std::string err;

  [[nodiscard]] bool success() const noexcept { return !signaled && exit_code == 0; }
};

// Runs argv[0] (looked up in PATH unless it contains '/') with stdin from /dev/null.
// Fails with ErrorCode::host when it cannot be started, ErrorCode::timeout when it outlives the
// deadline (it is killed and reaped first). A non-zero exit is not an error: check success().
[[nodiscard]] Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                                const CommandOptions& options = {});

// Runs argv[0] (looked up in PATH unless it contains '/') on this process's own standard input,
// output and error and terminal, as system(3) does without a shell: ^C and ^\\ reach the
// child alone while it runs. No deadline. Its exit status as a shell shows it (128 + the
// signal's number when a signal ended it); ErrorCode::host when it cannot be started.
[[nodiscard]] Result<int> run_attached(const std::vector<std::string>& argv);

// A command kvmrun runs in the foreground on its own standard input, output and error (`up
// --attach -- COMMAND`), with this process's environment plus `env` ("NAME=value" each, which
// replace variables of the same name) and no other descriptor of ours. It leads a process group
// of its own (its number is its pid), which gets the terminal when this process has it: signal
// the whole group, kill(-pid, sig), so nothing it started is missed. It starts with no signal
// blocked or ignored (whatever the caller blocks to wait for signals itself) and gets SIGTERM if
// this process dies. ErrorCode::host when it cannot be started. End it with end_foreground.
[[nodiscard]] Result<pid_t> spawn_foreground(const std::vector<std::string>& argv,
                                             const std::vector<std::string>& env);

// Once spawn_foreground's command has exited (its pidfd readable), before it is reaped: kills
// what is left of its process group (what it started and left running), reaps it, takes the
// terminal back, and returns its exit status as a shell shows it (128 + the signal's number
// when a signal ended it).
int end_foreground(pid_t pid);

// A long-lived child (QEMU) that may outlive this process. Its stdin is /dev/null, stdout and
// stderr go to `output_fd`, and exactly the descriptors in `fds` (target number, our descriptor)
// are passed on; every other descriptor is closed before exec.
// Who a child runs as when it is not this process's own user (root starting QEMU): set in the
// child, supplementary groups first, after the descriptors are passed on and before exec.
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary groups (e.g. /dev/kvm's)
};
struct BackgroundOptions {
  std::vector<std::pair<int, int>> fds;
  int output_fd = -1;           // -1: /dev/null
  bool new_session = true;      // not in our session: a terminal's ^C does not reach it
  bool die_with_parent = false; // SIGKILL when this process ends, however it ends
  std::optional<Credentials> run_as = std::nullopt; // absent: our own user
};
// Starts argv (argv[0] looked up in PATH unless it contains '/') and returns its pid. The child
// is not waited for here: the caller reaps it (waitpid) or leaves it to init when it exits.
[[nodiscard]] Result<pid_t> spawn_background(const std::vector<std::string>& argv,
                                             const BackgroundOptions& options);

// Waits (on a pidfd, no polling) until `pid` has exited, reaping it if it is our child. True
// if it exited within `timeout`.
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// The first executable `name` in the ':'-separated `search_path` (PATH semantics).
[[nodiscard]] std::optional<std::filesystem::path> find_executable(std::string_view name,
                                                                   std::string_view search_path);

// The same, over the PATH of this process.
[[nodiscard]] std::optional<std::filesystem::path> find_executable(std::string_view name);

} // namespace kvmrun
