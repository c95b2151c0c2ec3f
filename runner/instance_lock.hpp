// The instance lock: <runtime>/<lab>/<instance>/lock, an flock that kvmrun takes before it
// creates anything for the instance and hands to QEMU (inherited descriptor), so it is held for
// exactly as long as the instance's QEMU lives, whether or not the kvmrun that started it does.
// The file records QEMU's pid. A held lock plus an answering QMP socket is how a later kvmrun
// recognises a running instance; a bare pid is never trusted.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "runner/instance_paths.hpp"

#include <optional>
#include <sys/types.h>

namespace kvmrun::runner {

class InstanceLock {
public:
  // Creates the 0700 runtime directory and takes the lock; ErrorCode::busy when it is held
  // (the instance is running, or another kvmrun is starting it).
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

// Creates `dir` and its missing parents with mode 0700.
[[nodiscard]] Status create_private_dirs(const std::filesystem::path& dir);

} // namespace kvmrun::runner
