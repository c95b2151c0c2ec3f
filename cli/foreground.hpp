// What `up --attach` waits for in the foreground once every gate passed. Without a command:
// a signal (SIGINT, SIGTERM, SIGHUP) or the moment no instance runs any more. With one (`up
// --attach -- COMMAND...`, a lab's workload in CI or a Kubernetes Job): that command's end; a
// signal is passed on to its process group, and a command that has not ended `grace` later is
// killed with everything in its group; so is whatever it leaves running when it ends. The
// caller stops the instances afterwards, whatever ended the wait.
#pragma once

#include "base/result.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace kvmrun::cli {

struct Foreground {
  std::vector<std::string> command;  // empty: wait for a signal or the instances' end
  std::vector<std::string> env;      // "NAME=value" added to the command's environment
  std::function<bool()> any_running; // asked each second when there is no command
  std::chrono::milliseconds grace{10'000};
};

// The command's exit status as a shell shows it (128 + the signal that ended it), or nullopt
// without a command. ErrorCode::host when the command cannot be started (nothing was run).
[[nodiscard]] Result<std::optional<int>> wait_in_foreground(const Foreground& f, std::ostream& out);

} // namespace kvmrun::cli
