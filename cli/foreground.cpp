#include "cli/foreground.hpp"

#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "cli/views.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include <array>
#include <cstdint>

namespace kvmrun::cli {

Result<std::optional<int>> wait_in_foreground(const Foreground& f, std::ostream& out) {
  // Blocked here and read from a signalfd; the command starts with every signal unblocked.
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP})
    sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  const UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!signals.valid())
    return system_error(ErrorCode::io, "waiting for signals", errno);

  if (f.command.empty()) {
    out << "attached: Ctrl-C (or SIGTERM) stops the instances\n" << std::flush;
    while (true) {
      pollfd pfd{signals.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 1000) > 0 || !f.any_running())
        return std::optional<int>{};
    }
  }

  auto pid = spawn_foreground(f.command, f.env);
  if (!pid)
    return std::move(pid).error().add_context("starting the command after --");
  out << "attached: running `" << shell_line(f.command) << "` (pid " << *pid
      << "); the instances stop when it ends; Ctrl-C or SIGTERM is passed on to it\n"
      << std::flush;
  const UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));
  if (!exited.valid()) // it is our child: only a kernel without pidfds says no
    return system_error(ErrorCode::io, "watching the command after --", errno);
  using Clock = std::chrono::steady_clock;
  constexpr auto never = Clock::time_point::max();
  auto kill_at = never; // armed by the first signal passed on
  while (true) {
    std::array<pollfd, 2> pfd{{{signals.get(), POLLIN, 0}, {exited.get(), POLLIN, 0}}};
    int timeout = -1;
    if (kill_at != never)
      timeout = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::ceil<std::chrono::milliseconds>(kill_at - Clock::now()).count()));
    const int ready = ::poll(pfd.data(), pfd.size(), timeout);
    if (ready < 0 && errno != EINTR)
      return system_error(ErrorCode::io, "waiting for the command after --", errno);
    if ((pfd[1].revents & POLLIN) != 0)
      return std::optional<int>{end_foreground(*pid)};
    if ((pfd[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      if (::read(signals.get(), &info, sizeof info) == sizeof info) {
        const int sig = static_cast<int>(info.ssi_signo);
        ::kill(-*pid, sig); // its whole process group
        if (kill_at == never)
          kill_at = Clock::now() + f.grace;
        out << "attached: passed SIG" << ::sigabbrev_np(sig) << " on to the command; it has "
            << f.grace.count() / 1000 << " s to end\n"
            << std::flush;
      }
    }
    if (kill_at != never && Clock::now() >= kill_at) {
      out << "attached: the command did not end in time; killing it\n" << std::flush;
      ::kill(-*pid, SIGKILL);
      kill_at = never; // SIGKILL cannot be refused: its end is the next event
    }
  }
}

} // namespace kvmrun::cli
