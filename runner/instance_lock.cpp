#include "runner/instance_lock.hpp"

#include "base/file_io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace kvmrun::runner {

namespace {

std::optional<pid_t> read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return std::nullopt;
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || pid <= 0)
    return std::nullopt;
  return pid;
}

} // namespace

Status create_private_dirs(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path sofar;
  for (const auto& part : dir) {
    sofar /= part;
    if (std::filesystem::exists(sofar, ec))
      continue;
    if (::mkdir(sofar.c_str(), 0700) != 0 && errno != EEXIST)
      return system_error(ErrorCode::io, "creating directory " + sofar.string(), errno);
  }
  if (::chmod(dir.c_str(), 0700) != 0)
    return system_error(ErrorCode::io, "making " + dir.string() + " private", errno);
  return {};
}

Result<InstanceLock> InstanceLock::acquire(const InstancePaths& paths, std::string_view instance) {
  if (auto made = create_private_dirs(paths.runtime); !made)
    return std::move(made).error();
  UniqueFd fd(::open(paths.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0)
    return system_error(ErrorCode::io, "opening the lock " + paths.lock().string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return system_error(ErrorCode::io, "locking " + paths.lock().string(), errno);
    const auto pid = read_pid(fd.get());
    return Error(ErrorCode::busy,
                 "instance '" + std::string(instance) + "' is running" +
                     (pid ? " (QEMU pid " + std::to_string(*pid) + ")" : "") +
                     " or another kvmrun is starting it",
                 "see `kvmrun status`; stop it with `kvmrun down`");
  }
  if (::ftruncate(fd.get(), 0) != 0)
    return system_error(ErrorCode::io, "clearing " + paths.lock().string(), errno);
  return InstanceLock(std::move(fd));
}

Status InstanceLock::record_pid(pid_t pid) {
  return write_at(m_fd.get(), std::to_string(pid) + "\n", 0, "the instance lock");
}

LockState probe_lock(const InstancePaths& paths) {
  LockState state;
  UniqueFd fd(::open(paths.lock().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0)
    return state;
  state.pid = read_pid(fd.get());
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    state.held = true;
  // A shared lock taken here is released when fd closes.
  return state;
}

} // namespace kvmrun::runner
