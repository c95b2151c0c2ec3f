// A helper process for tests (a fault-injecting HTTP server, a fake QMP peer): started with
// its stdout on a pipe, waited on for a ready line, and killed and reaped on destruction.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace kvmrun::testing {

class BackgroundProcess {
public:
  // `inherit` maps a descriptor of this process to the number the child gets it as.
  explicit BackgroundProcess(const std::vector<std::string>& argv,
                             const std::vector<std::pair<int, int>>& inherit = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // The first stdout line starting with `prefix`, within `timeout`.
  [[nodiscard]] std::optional<std::string> wait_for_line(const std::string& prefix,
                                                         std::chrono::milliseconds timeout);
  [[nodiscard]] pid_t pid() const { return m_pid; }
  // Waits up to `timeout` for the process to exit; its wait status, or nullopt.
  [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout);

private:
  pid_t m_pid = -1;
  int m_stdout = -1;
  std::string m_buffer;
};

} // namespace kvmrun::testing
