#include "base/lock_file.hpp"

#include "base/file_io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace kvmrun {

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

bool is_live(pid_t pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat)
    return false;                      // reaped
  const auto close = stat->rfind(')'); // the state letter follows the parenthesised name
  return close == std::string::npos || close + 2 >= stat->size() ||
         ((*stat)[close + 2] != 'Z' && (*stat)[close + 2] != 'X');
}

std::string read_cmdline(pid_t pid) {
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline", 1U << 20U);
  return cmdline ? std::move(cmdline).value() : std::string();
}

bool cmdline_has(std::string_view cmdline, std::string_view option, std::string_view value) {
  std::string_view rest = cmdline;
  bool after_option = false;
  while (!rest.empty()) {
    const auto end = rest.find('\0');
    const auto arg = rest.substr(0, end);
    if (after_option && arg == value)
      return true;
    after_option = arg == option;
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  return false;
}

Result<LockFile> LockFile::acquire(const std::filesystem::path& path, const std::string& what) {
  // A holder that cleans up removes the file under us: retake the lock on the file there now.
  for (int attempt = 0; attempt < 8; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      if (errno == ENOENT && attempt + 1 < 8)
        continue;
      return system_error(ErrorCode::io, "opening the lock " + path.string(), errno);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK)
        return system_error(ErrorCode::io, "locking " + path.string(), errno);
      const auto pid = read_pid(fd.get());
      return Error(ErrorCode::busy,
                   what + " is running or another kvmrun is starting it (its lock is held" +
                       (pid ? ", by " + describe_pid(*pid) : std::string()) + ")",
                   "see `kvmrun status`; stop it with `kvmrun down`");
    }
    if (!still_linked(fd.get(), path))
      continue;
    LockFile lock(std::move(fd));
    if (auto recorded = lock.record_pid(::getpid()); !recorded)
      return std::move(recorded).error();
    return lock;
  }
  return Error(ErrorCode::busy,
               what + ": its lock " + path.string() + " kept being removed while kvmrun took it",
               "another kvmrun is cleaning it up; try again");
}

Status LockFile::record_pid(pid_t pid) {
  if (::ftruncate(m_fd.get(), 0) != 0)
    return system_error(ErrorCode::io, "clearing a lock file", errno);
  return write_at(m_fd.get(), std::to_string(pid) + "\n", 0, "a lock file");
}

Result<UniqueFd> lock_directory(const std::filesystem::path& dir, std::chrono::milliseconds timeout,
                                const std::string& what) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid())
    return system_error(ErrorCode::io, "opening " + dir.string() + " to lock it", errno);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return system_error(ErrorCode::io, "locking " + dir.string(), errno);
    if (std::chrono::steady_clock::now() >= until)
      return Error(ErrorCode::busy,
                   what + " is being changed by another kvmrun (" + dir.string() +
                       " stayed locked for " + std::to_string(timeout.count()) + " ms)",
                   "try again when it has finished");
    ::usleep(10'000);
  }
  return fd;
}

LockState probe_lock_file(const std::filesystem::path& path) {
  LockState state;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0)
    return state;
  state.pid = read_pid(fd.get());
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    state.held = true;
  // A shared lock taken here is released when fd closes.
  return state;
}

} // namespace kvmrun
