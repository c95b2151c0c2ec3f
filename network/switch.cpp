#include "network/switch.hpp"

#include "base/file_io.hpp"
#include "base/lock_file.hpp"
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "network/frame_switch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>

namespace kvmrun::network {

namespace {

constexpr std::string_view ready_line = "ready\n";

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof sa.sun_path)
    return Error(ErrorCode::config, "socket path " + path.string() + " is too long",
                 "set KVMRUN_RUNTIME_DIR to a shorter directory");
  std::memcpy(sa.sun_path, path.c_str(), path.native().size() + 1);
  return sa;
}

std::vector<std::string> split_args(std::string_view cmdline) {
  std::vector<std::string> args;
  while (!cmdline.empty()) {
    const auto end = cmdline.find('\0');
    args.emplace_back(cmdline.substr(0, end));
    cmdline = end == std::string_view::npos ? std::string_view() : cmdline.substr(end + 1);
  }
  return args;
}

void remove_switch_files(const SwitchPaths& paths, const std::filesystem::path& lab_runtime) {
  std::error_code ec;
  std::filesystem::remove(paths.socket(), ec);
  std::filesystem::remove(paths.lock(), ec); // by the lock's holder only
  std::filesystem::remove(paths.dir, ec);
  std::filesystem::remove(lab_runtime, ec); // only if empty
}

} // namespace

std::vector<std::string> switch_argv(const std::filesystem::path& self, const SwitchSpec& spec,
                                     int ready_fd) {
  std::vector<std::string> argv{self.string(), "switch", spec.lab_runtime.string(), spec.network,
                                std::to_string(ready_fd)};
  argv.insert(argv.end(), spec.members.begin(), spec.members.end());
  return argv;
}

Result<std::pair<SwitchSpec, int>> parse_switch_args(const std::vector<std::string>& positional) {
  const Error usage(ErrorCode::usage, "usage: kvmrun switch LAB_RUNTIME NETWORK READY_FD MEMBER...",
                    "`kvmrun up` starts a lab's switches itself");
  if (positional.size() < 4 || positional[0].empty() || positional[0].front() != '/')
    return usage;
  int ready_fd = -1;
  const auto& fd_text = positional[2];
  const auto [end, ec] = std::from_chars(fd_text.data(), fd_text.data() + fd_text.size(), ready_fd);
  if (ec != std::errc() || end != fd_text.data() + fd_text.size() || ready_fd < -1)
    return usage;
  SwitchSpec spec{positional[0], positional[1], {positional.begin() + 3, positional.end()}};
  return std::make_pair(std::move(spec), ready_fd);
}

Status run_switch(const SwitchSpec& spec, int ready_fd) {
  const auto paths = switch_paths(spec.lab_runtime, spec.network);
  const std::string what = "the switch of network '" + spec.network + "'";
  if (auto made = create_private_dirs(paths.dir); !made)
    return std::move(made).error();
  auto lock = LockFile::acquire(paths.lock(), what);
  if (!lock)
    return std::move(lock).error();

  UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!sock.valid())
    return system_error(ErrorCode::io, "creating " + what + "'s socket", errno);
  auto address = unix_address(paths.socket());
  if (!address)
    return std::move(address).error();
  std::error_code ec;
  std::filesystem::remove(paths.socket(), ec); // a stale one: we hold the lock
  const mode_t old_mask = ::umask(0077);
  const int bound =
      ::bind(sock.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un));
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0)
    return system_error(ErrorCode::io, "binding " + paths.socket().string(), bind_errno);

  // The members' port sockets, by path: the only senders accepted.
  std::vector<sockaddr_un> ports;
  std::map<std::string, std::size_t, std::less<>> port_of;
  for (const auto& member : spec.members) {
    const auto path = port_socket(spec.lab_runtime / member, spec.network);
    auto port = unix_address(path);
    if (!port)
      return std::move(port).error();
    port_of.emplace(path.string(), ports.size());
    ports.push_back(*port);
  }

  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGTERM, SIGINT, SIGHUP})
    sigaddset(&signals, s);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  UniqueFd sigfd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sigfd.valid())
    return system_error(ErrorCode::io, "watching signals", errno);

  std::fprintf(stderr, "kvmrun switch: network %s, %zu member(s), socket %s\n",
               spec.network.c_str(), ports.size(), paths.socket().c_str());
  if (ready_fd >= 0) {
    // A pipe: one short write is atomic. If the starter has gone, the switch still serves.
    (void)!::write(ready_fd, ready_line.data(), ready_line.size());
    ::close(ready_fd);
  }

  FrameSwitch frames(ports.size());
  std::uint64_t strangers = 0;
  std::uint64_t undelivered = 0;
  bool stop = false;
  EventLoop loop;
  loop.watch(sigfd.get(), true, false, [&](unsigned) { stop = true; });
  loop.watch(sock.get(), true, false, [&](unsigned) {
    std::array<char, 65536> frame{};
    while (true) {
      sockaddr_un from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(sock.get(), frame.data(), frame.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0)
        return; // EAGAIN: drained
      const std::size_t name_len = from_len > offsetof(sockaddr_un, sun_path)
                                       ? strnlen(from.sun_path, sizeof from.sun_path)
                                       : 0;
      const auto port = port_of.find(std::string_view(from.sun_path, name_len));
      if (port == port_of.end()) {
        ++strangers; // not a member of this network: never forwarded
        continue;
      }
      const std::string_view bytes(frame.data(), static_cast<std::size_t>(n));
      for (const std::size_t out : frames.route(port->second, bytes))
        if (::sendto(sock.get(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&ports[out]), sizeof(sockaddr_un)) < 0)
          ++undelivered; // that member is not running, or its queue is full
    }
  });
  loop.run_until([&] { return stop; }, Deadline::max());
  loop.unwatch(sock.get());
  loop.unwatch(sigfd.get());
  const auto& c = frames.counters();
  std::fprintf(
      stderr,
      "kvmrun switch: network %s stopping: %llu forwarded, %llu flooded, %llu dropped, "
      "%llu undelivered, %llu from non-members\n",
      spec.network.c_str(), static_cast<unsigned long long>(c.forwarded),
      static_cast<unsigned long long>(c.flooded), static_cast<unsigned long long>(c.dropped),
      static_cast<unsigned long long>(undelivered), static_cast<unsigned long long>(strangers));
  sock.reset();
  remove_switch_files(paths, spec.lab_runtime);
  return {};
}

SwitchState probe_switch(const std::filesystem::path& lab_runtime, std::string_view network) {
  const auto paths = switch_paths(lab_runtime, network);
  const auto lock = probe_lock_file(paths.lock());
  SwitchState state{SwitchState::State::stopped, lock.pid, {}};
  if (!lock.held)
    return state;
  state.state = SwitchState::State::foreign;
  if (lock.pid) {
    const auto args = split_args(read_cmdline(*lock.pid));
    if (args.size() >= 5 && args[1] == "switch" && args[2] == lab_runtime.string() &&
        args[3] == network) {
      state.state = SwitchState::State::running;
      state.members.assign(args.begin() + 5, args.end());
    }
  }
  return state;
}

Result<pid_t> start_switch(const std::filesystem::path& self, const SwitchSpec& spec,
                           const std::filesystem::path& log, bool die_with_parent,
                           const std::optional<Credentials>& run_as, Deadline deadline) {
  const std::string what = "the switch of network '" + spec.network + "'";
  if (const auto s = probe_switch(spec.lab_runtime, spec.network);
      s.state == SwitchState::State::running) {
    if (s.members == spec.members)
      return *s.pid;
    if (auto stopped = stop_switch(spec.lab_runtime, spec.network, std::chrono::seconds(5));
        !stopped)
      return std::move(stopped).error().add_context("restarting " + what + " for new members");
  }
  const auto paths = switch_paths(spec.lab_runtime, spec.network);
  if (auto made = create_private_dirs(paths.dir); !made)
    return std::move(made).error();
  if (run_as && ::chown(paths.dir.c_str(), run_as->uid, run_as->gid) != 0)
    return system_error(ErrorCode::io, "giving " + paths.dir.string() + " to QEMU's user", errno);
  if (auto made = create_private_dirs(log.parent_path()); !made)
    return std::move(made).error();
  UniqueFd log_fd(
      ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!log_fd.valid())
    return system_error(ErrorCode::io, "opening " + log.string(), errno);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return system_error(ErrorCode::io, "creating the switch's readiness pipe", errno);
  UniqueFd ready_read(pipe_fds[0]);
  UniqueFd ready_write(pipe_fds[1]);
  constexpr int ready_fd = 3;
  BackgroundOptions options;
  options.fds = {{ready_fd, ready_write.get()}};
  options.output_fd = log_fd.get();
  options.die_with_parent = die_with_parent;
  options.run_as = run_as;
  auto pid = spawn_background(switch_argv(self, spec, ready_fd), options);
  if (!pid)
    return std::move(pid).error().add_context("starting " + what);
  ready_write.reset();
  // "ready" once it holds its lock and its socket is bound; EOF if it gave up.
  std::string said;
  while (said.size() < ready_line.size()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{ready_read.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      return Error(ErrorCode::timeout,
                   what + " did not get ready (pid " + std::to_string(*pid) + ")",
                   "see " + log.string());
    char buf[16];
    const ssize_t n = ::read(ready_read.get(), buf, sizeof buf);
    if (n <= 0)
      break;
    said.append(buf, static_cast<std::size_t>(n));
  }
  if (said == ready_line)
    return *pid;
  (void)wait_exit(*pid, std::chrono::seconds(5));
  // Another kvmrun may have started the same switch a moment earlier: that one serves.
  if (const auto s = probe_switch(spec.lab_runtime, spec.network);
      s.state == SwitchState::State::running)
    return *s.pid;
  const auto text = read_file(log, 1U << 20U);
  std::string last = text ? *text : std::string();
  if (const auto nl = last.rfind('\n', last.size() >= 2 ? last.size() - 2 : 0);
      nl != std::string::npos)
    last = last.substr(nl + 1);
  return Error(ErrorCode::host, what + " exited at start: " + last, "see " + log.string());
}

Status stop_switch(const std::filesystem::path& lab_runtime, std::string_view network,
                   std::chrono::milliseconds step) {
  const auto state = probe_switch(lab_runtime, network);
  const std::string what = "the switch of network '" + std::string(network) + "'";
  if (state.state == SwitchState::State::foreign)
    return Error(ErrorCode::busy,
                 what + ": its lock is held by something kvmrun cannot match to it" +
                     (state.pid ? " (" + describe_pid(*state.pid) + ")" : std::string()),
                 "nothing was changed; see `kvmrun status`");
  const auto paths = switch_paths(lab_runtime, network);
  if (state.state == SwitchState::State::running) {
    ::kill(*state.pid, SIGTERM);
    if (!wait_exit(*state.pid, step)) {
      if (probe_switch(lab_runtime, network).state == SwitchState::State::running)
        ::kill(*state.pid, SIGKILL);
      if (!wait_exit(*state.pid, step))
        return Error(ErrorCode::host,
                     what + " (pid " + std::to_string(*state.pid) + ") survived SIGKILL");
    }
  }
  // What a killed switch left behind, removed while holding its (now free) lock.
  std::error_code ec;
  if (!std::filesystem::exists(paths.dir, ec))
    return {};
  auto lock = LockFile::acquire(paths.lock(), what);
  if (!lock)
    return std::move(lock).error();
  remove_switch_files(paths, lab_runtime);
  return {};
}

} // namespace kvmrun::network
