#include "runner/instance_control.hpp"

#include "base/file_io.hpp"
#include "base/unix_socket.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"
#include "runner/evidence.hpp"
#include "runner/instance_lock.hpp"
#include "runner/qemu_argv.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <sstream>

namespace kvmrun::runner {

using namespace std::chrono_literals;

std::optional<pid_t> running_pid(const InstancePaths& paths, std::string_view lab,
                                 std::string_view instance) {
  const auto lock = probe_lock(paths);
  if (!lock.held || !lock.pid)
    return std::nullopt;
  const auto cmdline = read_file("/proc/" + std::to_string(*lock.pid) + "/cmdline", 1U << 20U);
  const std::string name = "guest=" + std::string(lab) + "/" + std::string(instance) + ",";
  if (!cmdline || cmdline->find(name) == std::string::npos)
    return std::nullopt;
  return lock.pid;
}

bool wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool exited = false;
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    int r = 0;
    do {
      r = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (r < 0 && errno == EINTR);
    exited = r > 0;
    ::close(pidfd);
  } else {
    exited = errno == ESRCH;
  }
  int status = 0;
  ::waitpid(pid, &status, WNOHANG); // reap our own child; ECHILD for anyone else's
  return exited;
}

Result<std::vector<std::pair<int, UniqueFd>>> listen_runtime_sockets(const InstancePaths& paths) {
  const auto sockets = paths.sockets();
  const std::array<int, std::tuple_size_v<decltype(sockets)>> numbers{qmp_fd, qmp_up_fd, agent_fd,
                                                                      serial_fd};
  std::vector<std::pair<int, UniqueFd>> listening;
  for (std::size_t k = 0; k < sockets.size(); ++k) {
    auto fd = listen_unix(sockets[k]);
    if (!fd)
      return std::move(fd).error();
    listening.emplace_back(numbers[k], std::move(fd).value());
  }
  return listening;
}

void remove_runtime_files(const InstancePaths& paths) {
  std::error_code ec;
  for (const auto& f : paths.sockets())
    std::filesystem::remove(f, ec);
  std::filesystem::remove(paths.lock(), ec);
  std::filesystem::remove(paths.runtime, ec);               // only if empty
  std::filesystem::remove(paths.runtime.parent_path(), ec); // the lab's, if empty
}

Result<StopResult> stop_instance(const InstancePaths& paths, std::string_view lab,
                                 const lab::InstanceSpec& instance, pid_t pid,
                                 const std::function<void(const std::string&)>& progress) {
  const auto started = Clock::now();
  const auto step_timeout = instance.timeouts.shutdown;
  const auto done = [&](std::string step) -> Result<StopResult> {
    remove_runtime_files(paths);
    return StopResult{std::move(step), std::chrono::duration_cast<std::chrono::milliseconds>(
                                           Clock::now() - started)};
  };
  {
    EventLoop loop;
    qmp::QmpClient monitor(loop);
    if (monitor.connect_sync(paths.qmp_socket(), deadline_after(5s)).ok()) {
      progress("ACPI powerdown");
      if (qmp::system_powerdown(monitor, deadline_after(5s)).ok() && wait_exit(pid, step_timeout))
        return done("powerdown");
      progress("QMP quit (the guest did not power off within " +
               std::to_string(step_timeout.count() / 1000) + " s)");
      (void)qmp::quit(monitor, deadline_after(5s));
      if (wait_exit(pid, step_timeout))
        return done("quit");
    }
  }
  // Signals only to the pid the held lock records and whose command line names this instance.
  // A free lock means that QEMU has exited (the pid may already belong to someone else).
  if (running_pid(paths, lab, instance.name) != pid) {
    (void)wait_exit(pid, 1s); // reaps it if it was our child
    return done("quit");
  }
  progress("SIGTERM");
  ::kill(pid, SIGTERM);
  if (wait_exit(pid, step_timeout))
    return done("SIGTERM");
  progress("SIGKILL");
  ::kill(pid, SIGKILL);
  if (wait_exit(pid, step_timeout))
    return done("SIGKILL");
  return Error(ErrorCode::qemu,
               "instance '" + instance.name + "': QEMU (pid " + std::to_string(pid) +
                   ") survived SIGKILL",
               "it is stuck in the kernel (uninterruptible I/O?); see /proc/" +
                   std::to_string(pid) + "/stack");
}

std::string stopped_text(const StopResult& stopped) {
  return "stopped (" + stopped.step + ", " + seconds_text(stopped.took) + ")";
}

std::optional<double> process_uptime(pid_t pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 1U << 16U);
  const auto uptime = read_file("/proc/uptime", 4096);
  if (!stat || !uptime)
    return std::nullopt;
  const auto close = stat->rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream fields(stat->substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
    if (i == 22) {
      const double start = std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
      return std::stod(*uptime) - start;
    }
  }
  return std::nullopt;
}

} // namespace kvmrun::runner
