#include "instance/lock.hpp"

#include "base/file_io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace kvmrun::instance {

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

// Whether `fd` is still the file at `path` (not unlinked or replaced since it was opened).
bool still_linked(int fd, const std::filesystem::path& path) {
  struct stat open_st {};
  struct stat path_st {};
  return ::fstat(fd, &open_st) == 0 && ::stat(path.c_str(), &path_st) == 0 &&
         open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

} // namespace

std::string describe_pid(pid_t pid) {
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm", 4096);
  std::string name = comm ? *comm : std::string("gone");
  while (!name.empty() && (name.back() == '\n' || name.back() == ' '))
    name.pop_back();
  return "pid " + std::to_string(pid) + " (" + name + ")";
}

Result<InstanceLock> InstanceLock::acquire(const InstancePaths& paths, std::string_view instance) {
  // A holder that cleans up removes the file (and maybe the directory) under us: retake the
  // lock on the file that is there now.
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (auto made = create_private_dirs(paths.runtime); !made)
      return std::move(made).error();
    UniqueFd fd(::open(paths.lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      if (errno == ENOENT)
        continue;
      return system_error(ErrorCode::io, "opening the lock " + paths.lock().string(), errno);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK)
        return system_error(ErrorCode::io, "locking " + paths.lock().string(), errno);
      const auto pid = read_pid(fd.get());
      return Error(ErrorCode::busy,
                   "instance '" + std::string(instance) +
                       "' is running or another kvmrun is "
                       "starting it (its lock is held" +
                       (pid ? ", by " + describe_pid(*pid) : std::string()) + ")",
                   "see `kvmrun status`; stop it with `kvmrun down`");
    }
    if (!still_linked(fd.get(), paths.lock()))
      continue;
    InstanceLock lock(std::move(fd));
    if (::ftruncate(lock.fd(), 0) != 0)
      return system_error(ErrorCode::io, "clearing " + paths.lock().string(), errno);
    if (auto recorded = lock.record_pid(::getpid()); !recorded)
      return std::move(recorded).error();
    return lock;
  }
  return Error(ErrorCode::busy,
               "instance '" + std::string(instance) + "': its lock " + paths.lock().string() +
                   " kept being removed while kvmrun took it",
               "another kvmrun is cleaning this instance up; try again");
}

Status InstanceLock::record_pid(pid_t pid) {
  const std::string text = std::to_string(pid) + "\n";
  if (::ftruncate(m_fd.get(), 0) != 0)
    return system_error(ErrorCode::io, "clearing the instance lock", errno);
  return write_at(m_fd.get(), text, 0, "the instance lock");
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

} // namespace kvmrun::instance
