// The instance lock: <runtime>/<lab>/<instance>/lock, an flock that kvmrun takes before it
// creates anything for the instance and hands to QEMU (inherited descriptor), so it is held for
// exactly as long as the instance's QEMU lives, whether or not the kvmrun that started it does.
// The file records the holder's pid: the kvmrun that is provisioning the instance, then QEMU.
// A held lock plus a QEMU whose command line names the instance is how a later kvmrun
// recognises a running instance; a bare pid is never trusted.
//
// The lock file is removed only by whoever holds the lock (see qemu_process.hpp), and a lock
// taken on a file that was removed meanwhile is retaken on the new file, so two holders of one
// instance can never both believe they hold it.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "instance/paths.hpp"

#include <optional>
#include <sys/types.h>

namespace kvmrun::instance {

class InstanceLock {
public:
  // Creates the 0700 runtime directory, takes the lock and records this process's pid;
  // ErrorCode::busy when it is held (the instance is running, or another kvmrun is starting
  // it), naming the holder recorded in the file.
  [[nodiscard]] static Result<InstanceLock> acquire(const InstancePaths& paths,
                                                    std::string_view instance);
  [[nodiscard]] int fd() const { return m_fd.get(); }
  [[nodiscard]] Status record_pid(pid_t pid);

private:
  explicit InstanceLock(UniqueFd fd) : m_fd(std::move(fd)) {}
  UniqueFd m_fd;
};

struct LockState {
  bool held = false;        // by a live QEMU (or a kvmrun provisioning it)
  std::optional<pid_t> pid; // what the file records
};
// Read-only: whether the lock is held now. A missing lock file means not running.
[[nodiscard]] LockState probe_lock(const InstancePaths& paths);

// "pid 1234 (qemu-system-x86)", or "pid 1234 (gone)", from /proc: who a recorded pid is.
[[nodiscard]] std::string describe_pid(pid_t pid);

} // namespace kvmrun::instance
