// A lock file: an flock held for as long as its holder lives (a process, or a QEMU that
// inherited the descriptor), recording the holder's pid. Taking it creates the file; a lock
// taken on a file that was removed meanwhile is retaken on the new file, so two holders can
// never both believe they hold it. Only whoever holds it removes the file.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>

namespace kvmrun {

class LockFile {
public:
  // Takes the lock at `path` (its directory must exist) and records this process's pid.
  // ErrorCode::busy when it is held: "<what> is running or another kvmrun is starting it (its
  // lock is held, by pid N (comm))".
  [[nodiscard]] static Result<LockFile> acquire(const std::filesystem::path& path,
                                                const std::string& what);
  [[nodiscard]] int fd() const { return m_fd.get(); }
  [[nodiscard]] Status record_pid(pid_t pid);

private:
  explicit LockFile(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;
};

struct LockState {
  bool held = false;        // by a live process
  std::optional<pid_t> pid; // what the file records
};
// Read-only: whether the lock is held now. A missing file means free.
[[nodiscard]] LockState probe_lock_file(const std::filesystem::path& path);

// "pid 1234 (qemu-system-x86)", or "pid 1234 (gone)", from /proc: who a recorded pid is.
[[nodiscard]] std::string describe_pid(pid_t pid);

// An flock on a directory itself, waited for up to `timeout`: for short read-modify-write steps
// on the files in it (kvmrun processes changing one record at once), leaving no lock file behind.
// Released when the descriptor is closed. ErrorCode::busy naming `what` when the wait runs out,
// ErrorCode::io when the directory cannot be opened.
[[nodiscard]] Result<UniqueFd> lock_directory(const std::filesystem::path& dir,
                                              std::chrono::milliseconds timeout,
                                              const std::string& what);

// Whether `pid` is a process that can go on holding something: there, and not a zombie (a
// process on its way out, whose descriptors and any lock they held the kernel is releasing, the
// last of its threads a moment after the first).
[[nodiscard]] bool is_live(pid_t pid);

// /proc/<pid>/cmdline: the process's arguments, separated by NUL bytes ("" when it is gone).
[[nodiscard]] std::string read_cmdline(pid_t pid);
// Whether such an argument list has `value` right after `option`. Pure.
[[nodiscard]] bool cmdline_has(std::string_view cmdline, std::string_view option,
                               std::string_view value);

} // namespace kvmrun
