#include "instance/qemu_process.hpp"

#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "base/unix_socket.hpp"
#include "evidence/stopwatch.hpp"
#include "instance/qemu_argv.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <sstream>
#include <thread>

namespace kvmrun::instance {

using namespace std::chrono_literals;

namespace {

// QEMU's control sockets (InstancePaths::sockets), listening, each paired with the descriptor
// number QEMU's argv gives it.
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

// The control sockets and the lab-network ports (net-*.sock, which QEMU binds itself).
void remove_sockets(const InstancePaths& paths) {
  std::error_code ec;
  for (const auto& f : paths.sockets())
    std::filesystem::remove(f, ec);
  std::vector<std::filesystem::path> ports;
  for (auto it = std::filesystem::directory_iterator(paths.runtime, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    if (it->path().filename().string().rfind("net-", 0) == 0 && it->path().extension() == ".sock")
      ports.push_back(it->path());
  for (const auto& port : ports)
    std::filesystem::remove(port, ec);
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc())
    return std::nullopt;
  return value;
}

} // namespace

Result<pid_t> start_qemu(const InstancePaths& paths, const std::vector<std::string>& argv,
                         InstanceLock& lock, bool die_with_parent,
                         const std::vector<std::pair<int, int>>& extra_fds,
                         const std::optional<Credentials>& run_as) {
  auto sockets = listen_runtime_sockets(paths);
  if (!sockets) {
    remove_sockets(paths);
    return std::move(sockets).error();
  }
  UniqueFd log(::open(paths.qemu_log().c_str(),
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!log.valid()) {
    const int err = errno;
    remove_sockets(paths);
    return system_error(ErrorCode::io, "opening " + paths.qemu_log().string(), err);
  }
  // QEMU appends the console to serial.log, creating it with its umask (0644) when it is not
  // there: made here first, the user's only (the console may show what the seed carried).
  const UniqueFd serial(::open(paths.serial_log().c_str(),
                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!serial.valid() || ::fchmod(serial.get(), 0600) != 0 ||
      (run_as && ::fchown(serial.get(), run_as->uid, run_as->gid) != 0)) {
    const int err = errno;
    remove_sockets(paths);
    return system_error(ErrorCode::io, "creating " + paths.serial_log().string(), err);
  }
  BackgroundOptions options;
  for (const auto& [number, fd] : *sockets)
    options.fds.emplace_back(number, fd.get());
  options.fds.emplace_back(lock_fd, lock.fd());
  options.fds.insert(options.fds.end(), extra_fds.begin(), extra_fds.end());
  options.output_fd = log.get();
  options.die_with_parent = die_with_parent;
  options.run_as = run_as;
  auto pid = spawn_background(argv, options);
  if (!pid) {
    remove_sockets(paths);
    return std::move(pid).error();
  }
  if (auto recorded = lock.record_pid(*pid); !recorded)
    return std::move(recorded).error();
  return *pid;
}

Liveness probe_instance(const InstancePaths& paths, std::string_view lab,
                        std::string_view instance) {
  const auto lock = probe_lock(paths);
  Liveness live{Liveness::State::stopped, lock.pid};
  if (!lock.held)
    return live;
  live.state = Liveness::State::foreign;
  if (lock.pid) {
    if (names_instance(read_cmdline(*lock.pid), lab, instance))
      live.state = Liveness::State::running;
  }
  return live;
}

std::optional<pid_t> running_pid(const InstancePaths& paths, std::string_view lab,
                                 std::string_view instance) {
  const auto live = probe_instance(paths, lab, instance);
  return live.state == Liveness::State::running ? live.pid : std::nullopt;
}

Error held_by_another(std::string_view instance, const Liveness& liveness) {
  return Error(ErrorCode::busy,
               "instance '" + std::string(instance) +
                   "': its lock is held by something kvmrun cannot match to the instance's QEMU" +
                   (liveness.pid ? " (the lock records " + describe_pid(*liveness.pid) + ")"
                                 : std::string()) +
                   "; nothing was changed",
               "another kvmrun may be starting it: wait for it, then `kvmrun status`");
}

Status remove_runtime_files(const InstancePaths& paths, std::string_view instance,
                            std::optional<InstanceLock> held) {
  std::error_code ec;
  // Two kvmruns may clean up after the same QEMU at once (`down`, and the `up` whose gate saw it
  // exit): each holds the lock only while removing these files, so a held lock is waited for a
  // little, and a runtime directory the other removed meanwhile is the work done.
  const auto deadline = Clock::now() + cleanup_wait;
  while (!held) {
    if (!std::filesystem::exists(paths.runtime, ec))
      return {};
    auto lock = InstanceLock::acquire(paths, instance);
    if (lock) {
      held.emplace(std::move(lock).value());
    } else if (lock.error().code() != ErrorCode::busy || Clock::now() >= deadline) {
      return std::move(lock).error().add_context("cleaning up after instance " +
                                                 std::string(instance));
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  remove_sockets(paths);
  std::filesystem::remove(paths.runtime_forwards(), ec);
  std::filesystem::remove(paths.bringing_up(), ec);
  std::filesystem::remove(paths.saving(), ec);
  std::filesystem::remove(paths.save_socket(), ec); // a killed template save's
  std::filesystem::remove(paths.lock(), ec);        // while held: see InstanceLock::acquire
  held.reset();
  std::filesystem::remove(paths.runtime, ec);               // only if empty
  std::filesystem::remove(paths.runtime.parent_path(), ec); // the lab's, if empty
  return {};
}

Result<StopResult> stop_instance(const InstancePaths& paths, std::string_view lab,
                                 const lab::InstanceSpec& instance, pid_t pid,
                                 const std::function<void(const std::string&)>& progress) {
  const auto started = Clock::now();
  const auto step_timeout = instance.timeouts.shutdown;
  const auto done = [&](std::string step) -> Result<StopResult> {
    if (auto removed = remove_runtime_files(paths, instance.name); !removed)
      return std::move(removed).error();
    return StopResult{std::move(step), std::chrono::duration_cast<std::chrono::milliseconds>(
                                           Clock::now() - started)};
  };
  {
    EventLoop loop;
    qmp::QmpClient monitor(loop);
    if (monitor.connect_sync(paths.qmp_socket(), deadline_after(5s)).ok()) {
      // A paused guest (a killed template save, `kvmrun qmp vm stop`) cannot act on ACPI: quit.
      const auto vm = qmp::query_status(monitor, deadline_after(5s));
      const bool paused = vm && !vm->running;
      if (!paused) {
        progress("ACPI powerdown");
        if (qmp::system_powerdown(monitor, deadline_after(5s)).ok() && wait_exit(pid, step_timeout))
          return done("powerdown");
      }
      progress(paused ? std::string("QMP quit (the guest is paused: " + vm->status + ")")
                      : "QMP quit (the guest did not power off within " +
                            std::to_string(step_timeout.count() / 1000) + " s)");
      (void)qmp::quit(monitor, deadline_after(5s)); // its effect is what the next wait sees
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

std::vector<Result<StopResult>>
stop_instances(std::string_view lab, const std::vector<StopRequest>& requests,
               const std::function<void(const std::string&, const std::string&)>& progress) {
  std::vector<std::optional<Result<StopResult>>> done(requests.size());
  std::mutex heard;
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < requests.size(); ++k)
    threads.emplace_back([&, k] {
      const auto& r = requests[k];
      done[k] = stop_instance(r.paths, lab, *r.instance, r.pid, [&](const std::string& step) {
        std::lock_guard lock(heard);
        progress(r.instance->name, step);
      });
    });
  for (auto& t : threads)
    t.join();
  std::vector<Result<StopResult>> results;
  for (auto& d : done)
    results.push_back(std::move(*d));
  return results;
}

std::string stopped_text(const StopResult& stopped) {
  return "stopped (" + stopped.step + ", " + evidence::seconds_text(stopped.took) + ")";
}

std::optional<double> process_uptime(pid_t pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 1U << 16U);
  const auto uptime = read_file("/proc/uptime", 4096);
  if (!stat || !uptime)
    return std::nullopt;
  const auto close = stat->rfind(')');
  if (close == std::string::npos || close + 2 > stat->size())
    return std::nullopt;
  std::istringstream fields(stat->substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
    if (i == 22) {
      const auto start_ticks = parse_double(field);
      const auto now = parse_double(uptime->substr(0, uptime->find(' ')));
      if (!start_ticks || !now)
        return std::nullopt;
      return *now - *start_ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
    }
  }
  return std::nullopt;
}

} // namespace kvmrun::instance
