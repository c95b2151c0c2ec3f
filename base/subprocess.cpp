#include "base/subprocess.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>
// Boost.Process v2 is compiled separately (BOOST_PROCESS_V2_SEPARATE_COMPILATION); its sources
// are compiled exactly once, here.
#include <boost/process/v2/src.hpp>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>

namespace kvmrun {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

std::optional<std::filesystem::path> find_executable(std::string_view name,
                                                     std::string_view search_path) {
  if (name.find('/') != std::string_view::npos) {
    std::filesystem::path p(name);
    if (::access(p.c_str(), X_OK) == 0)
      return p;
    return std::nullopt;
  }
  while (true) {
    const auto colon = search_path.find(':');
    std::string_view dir = search_path.substr(0, colon);
    if (dir.empty())
      dir = ".";
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (colon == std::string_view::npos)
      return std::nullopt;
    search_path.remove_prefix(colon + 1);
  }
}

std::optional<std::filesystem::path> find_executable(std::string_view name) {
  const char* path = std::getenv("PATH");
  return find_executable(name, path != nullptr ? path : "/usr/bin:/bin");
}

namespace {

// In the child of run_attached: the signals its parent ignores while it waits are the child's
// to take (ignored dispositions would survive the exec).
struct DefaultSignals {
  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) const {
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGQUIT, SIG_DFL);
    return {};
  }
};

// Reads a pipe to EOF into `sink`, keeping at most `limit` bytes; calls `on_eof` once at the end.
class PipeDrain {
public:
  PipeDrain(asio::readable_pipe& pipe, std::string& sink, std::size_t limit,
            std::function<void()> on_eof)
      : m_pipe(pipe), m_sink(sink), m_limit(limit), m_on_eof(std::move(on_eof)) {}

  void start() {
    m_pipe.async_read_some(asio::buffer(m_buffer),
                           [this](const boost::system::error_code& ec, std::size_t n) {
                             if (n > 0 && m_sink.size() < m_limit)
                               m_sink.append(m_buffer.data(), std::min(n, m_limit - m_sink.size()));
                             if (ec)
                               m_on_eof();
                             else
                               start();
                           });
  }

private:
  asio::readable_pipe& m_pipe;
  std::string& m_sink;
  std::size_t m_limit;
  std::function<void()> m_on_eof;
  std::array<char, 16384> m_buffer{};
};

// Boost.Process 1.81 closes only the descriptors below the highest whitelisted one, so a child
// kept every other descriptor of ours: a long-lived child held callers' pipes open (a caller
// waiting for EOF waited for QEMU), and a script saw descriptor numbers above 9 (dash cannot
// redirect those: mmdebstrap failed under the test suite). Called in the child before exec.
void close_unlisted(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 0;
  for (const int k : keep) {
    if (k < 0)
      continue;
    if (static_cast<unsigned>(k) > from)
      ::close_range(from, static_cast<unsigned>(k) - 1, 0);
    from = std::max(from, static_cast<unsigned>(k) + 1);
  }
  ::close_range(from, ~0U, 0);
}

// An initializer that closes every descriptor the launcher does not pass on; it must come after
// the stdio binding, whose descriptors it would otherwise close.
struct CloseUnlisted {
  bp::error_code on_exec_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                               const char* const*) const {
    close_unlisted(launcher.fd_whitelist);
    return {};
  }
};

// argv[0] resolved through PATH (unless it contains '/').
Result<std::filesystem::path> program_of(const std::vector<std::string>& argv) {
  assert(!argv.empty());
  auto exe = find_executable(argv.front());
  if (!exe)
    return Error(ErrorCode::host, "cannot find the program '" + argv.front() + "'",
                 "install it or put it on PATH");
  return *exe;
}

} // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const CommandOptions& options) {
  auto exe = program_of(argv);
  if (!exe)
    return std::move(exe).error();

  asio::io_context ctx;
  asio::readable_pipe out_pipe(ctx);
  asio::readable_pipe err_pipe(ctx);
  CommandOutput result;
  std::optional<bp::process> proc;
  try {
    proc.emplace(ctx, exe->string(), std::vector<std::string>(argv.begin() + 1, argv.end()),
                 bp::process_stdio{nullptr, out_pipe, err_pipe}, CloseUnlisted{});
  } catch (const boost::system::system_error& e) {
    return Error(ErrorCode::host, "cannot start '" + exe->string() + "': " + e.code().message());
  }

  // Three things must finish: both pipes reach EOF and the process is reaped. The deadline is
  // cancelled when they have; if it fires first, the process is killed and the pipes closed
  // (a grandchild may still hold them open).
  asio::steady_timer deadline(ctx, options.timeout);
  int pending = 3;
  const auto finished_one = [&] {
    if (--pending == 0)
      deadline.cancel();
  };
  bool timed_out = false;
  bool exited = false;

  PipeDrain out_drain(out_pipe, result.out, options.output_limit, finished_one);
  PipeDrain err_drain(err_pipe, result.err, options.output_limit, finished_one);
  out_drain.start();
  err_drain.start();

  proc->async_wait([&](const boost::system::error_code&, int) {
    exited = true;
    const int status = static_cast<int>(proc->native_exit_code());
    if (WIFSIGNALED(status)) {
      result.signaled = true;
      result.signal = WTERMSIG(status);
    } else {
      result.exit_code = WEXITSTATUS(status);
    }
    finished_one();
  });

  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec)
      return; // cancelled: everything finished in time
    boost::system::error_code ignored;
    if (!exited) {
      timed_out = true;
      proc->terminate(ignored); // SIGKILL; the async_wait above reaps it
    }
    out_pipe.close(ignored);
    err_pipe.close(ignored);
  });

  ctx.run();

  if (timed_out)
    return Error(ErrorCode::timeout, "'" + argv.front() + "' did not finish within " +
                                         std::to_string(options.timeout.count()) +
                                         " ms and was killed");
  return result;
}

Result<int> run_attached(const std::vector<std::string>& argv) {
  auto exe = program_of(argv);
  if (!exe)
    return std::move(exe).error();
  // The terminal's ^C and ^\ go to the whole foreground group: this process waits them out.
  struct sigaction ignore {
  }, old_int{}, old_quit{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  struct Restore {
    struct sigaction& i;
    struct sigaction& q;
    ~Restore() {
      ::sigaction(SIGINT, &i, nullptr);
      ::sigaction(SIGQUIT, &q, nullptr);
    }
  } restore{old_int, old_quit};
  asio::io_context ctx;
  bp::error_code ec;
  bp::posix::default_launcher launcher;
  auto proc =
      launcher(ctx, ec, exe->string(), std::vector<std::string>(argv.begin() + 1, argv.end()),
               bp::process_stdio{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}, DefaultSignals{});
  if (ec)
    return Error(ErrorCode::host, "cannot start '" + exe->string() + "': " + ec.message());
  proc.wait(ec);
  const int status = static_cast<int>(proc.native_exit_code());
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

namespace {

// The child of spawn_foreground: this process's environment with `extra` replacing variables of
// the same name (the launcher execs with `env`, set before the fork), a process group of its own
// (given the terminal when we hold it), every signal unblocked and at its default, and SIGTERM
// when this process dies.
struct ForegroundInit {
  std::vector<std::string> entries;
  std::vector<const char*> pointers;
  bool take_terminal = false;

  explicit ForegroundInit(const std::vector<std::string>& extra)
      : entries(extra),
        take_terminal(::isatty(STDIN_FILENO) == 1 && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp()) {
    for (char** e = ::environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const auto name = entry.substr(0, entry.find('=') + 1);
      if (std::none_of(extra.begin(), extra.end(),
                       [&](const std::string& x) { return x.starts_with(name); }))
        entries.emplace_back(entry);
    }
    for (const auto& e : entries)
      pointers.push_back(e.c_str());
    pointers.push_back(nullptr);
  }

  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                          const char* const*) const {
    launcher.env = pointers.data();
    return {};
  }

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) const {
    if (::setpgid(0, 0) != 0)
      return {errno, bp::system_category()};
    // A background group asking for the terminal gets SIGTTOU unless it ignores it.
    ::signal(SIGTTOU, SIG_IGN);
    if (take_terminal)
      (void)::tcsetpgrp(STDIN_FILENO, ::getpid());
    for (const int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE, SIGTTOU})
      ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
      return {errno, bp::system_category()};
    return {};
  }
};

} // namespace

Result<pid_t> spawn_foreground(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env) {
  auto exe = program_of(argv);
  if (!exe)
    return std::move(exe).error();
  asio::io_context ctx;
  bp::error_code ec;
  bp::posix::default_launcher launcher;
  const ForegroundInit init(env);
  auto proc = launcher(
      ctx, ec, exe->string(), std::vector<std::string>(argv.begin() + 1, argv.end()),
      bp::process_stdio{STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}, init, CloseUnlisted{});
  if (ec)
    return Error(ErrorCode::host, "cannot start '" + exe->string() + "': " + ec.message());
  const pid_t pid = proc.id();
  proc.detach();
  (void)::setpgid(pid, pid); // as the child does: whichever runs first, the group exists
  return pid;
}

int end_foreground(pid_t pid) {
  ::kill(-pid, SIGKILL); // the leader is a zombie until reaped: its group id is still its own
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return 128 + SIGKILL; // not our child (or already reaped): nothing to tell
  // Take the terminal back if the group had it (blocking SIGTTOU, which a background group's
  // tcsetpgrp would raise).
  if (::isatty(STDIN_FILENO) == 1 && ::tcgetpgrp(STDIN_FILENO) == pid) {
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    ::sigprocmask(SIG_BLOCK, &ttou, &old);
    (void)::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

namespace {

// Runs in the child between fork and exec: passes the descriptors on (through numbers above
// every target first, so a source that is another's target is not clobbered), then leaves the
// session and ties the child's life to ours when asked.
struct BackgroundInit {
  const BackgroundOptions& options;

  bp::error_code on_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                          const char* const*) const {
    for (const auto& [target, source] : options.fds)
      launcher.fd_whitelist.push_back(target);
    return {};
  }

  bp::error_code on_exec_setup(bp::posix::default_launcher& launcher, const bp::filesystem::path&,
                               const char* const*) const {
    std::vector<int> high;
    for (const auto& [target, source] : options.fds) {
      const int copy = ::fcntl(source, F_DUPFD_CLOEXEC, 64);
      if (copy < 0)
        return {errno, bp::system_category()};
      high.push_back(copy);
    }
    for (std::size_t i = 0; i < high.size(); ++i)
      if (::dup2(high[i], options.fds[i].first) < 0) // the new number is not close-on-exec
        return {errno, bp::system_category()};
    close_unlisted(launcher.fd_whitelist);
    if (options.new_session && ::setsid() < 0)
      return {errno, bp::system_category()};
    if (const auto& as = options.run_as) {
      if (::setgroups(as->groups.size(), as->groups.data()) != 0 || ::setgid(as->gid) != 0 ||
          ::setuid(as->uid) != 0)
        return {errno, bp::system_category()};
    }
    // After the user changed: changing it clears the parent-death signal.
    if (options.die_with_parent && ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
      return {errno, bp::system_category()};
    return {};
  }
};

} // namespace

Result<pid_t> spawn_background(const std::vector<std::string>& argv,
                               const BackgroundOptions& options) {
  auto exe = program_of(argv);
  if (!exe)
    return std::move(exe).error();
  asio::io_context ctx;
  bp::error_code ec;
  // Not const: the launcher only calls a non-const process_stdio's setup.
  auto out = options.output_fd >= 0
                 ? bp::process_stdio{nullptr, options.output_fd, options.output_fd}
                 : bp::process_stdio{nullptr, nullptr, nullptr};
  bp::posix::default_launcher launcher;
  auto proc =
      launcher(ctx, ec, exe->string(), std::vector<std::string>(argv.begin() + 1, argv.end()), out,
               BackgroundInit{options});
  if (ec)
    return Error(ErrorCode::host, "cannot start '" + exe->string() + "': " + ec.message());
  const pid_t pid = proc.id();
  proc.detach();
  return pid;
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

} // namespace kvmrun
