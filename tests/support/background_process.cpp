#include "tests/support/background_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace kvmrun::testing {

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::vector<std::pair<int, int>>& inherit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return;
  m_pid = ::fork();
  if (m_pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    for (const auto& [from, to] : inherit) {
      if (from == to)
        ::fcntl(to, F_SETFD, 0); // dup2 onto itself would keep close-on-exec
      else
        ::dup2(from, to); // dup2 clears close-on-exec on the new number
    }
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  m_stdout = fds[0];
}

std::optional<int> BackgroundProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, m_pid, 0));
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    ::close(pidfd);
  }
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
    m_pid = -1;
    return status;
  }
  return std::nullopt;
}

BackgroundProcess::~BackgroundProcess() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (m_stdout >= 0)
    ::close(m_stdout);
}

std::optional<std::string> BackgroundProcess::wait_for_line(const std::string& prefix,
                                                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (auto nl = m_buffer.find('\n'); nl != std::string::npos; nl = m_buffer.find('\n')) {
      std::string line = m_buffer.substr(0, nl);
      m_buffer.erase(0, nl + 1);
      if (line.rfind(prefix, 0) == 0)
        return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || m_stdout < 0)
      return std::nullopt;
    pollfd pfd{m_stdout, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[4096];
    const ssize_t n = ::read(m_stdout, buf, sizeof buf);
    if (n <= 0)
      return std::nullopt;
    m_buffer.append(buf, static_cast<std::size_t>(n));
  }
}

} // namespace kvmrun::testing
