// The instance lock: <runtime>/<lab>/<instance>/lock (base/lock_file.hpp), which kvmrun takes
// before it creates anything for the instance and hands to QEMU (inherited descriptor), so it is
// held for exactly as long as the instance's QEMU lives, whether or not the kvmrun that started
// it does. It records the kvmrun provisioning the instance, then QEMU. A held lock plus a QEMU
// whose command line names the instance is how a later kvmrun recognises a running instance; a
// bare pid is never trusted. The lock file is removed only by its holder (qemu_process.hpp).
#pragma once

#include "base/lock_file.hpp"
#include "base/result.hpp"
#include "instance/paths.hpp"

#include <sys/types.h>

namespace kvmrun::instance {

class InstanceLock {
public:
  // Creates the 0700 runtime directory and takes the lock; ErrorCode::busy when it is held
  // (the instance is running, or another kvmrun is starting it), naming the holder.
  [[nodiscard]] static Result<InstanceLock> acquire(const InstancePaths& paths,
                                                    std::string_view instance);
  [[nodiscard]] int fd() const { return m_lock.fd(); }
  [[nodiscard]] Status record_pid(pid_t pid) { return m_lock.record_pid(pid); }

private:
  explicit InstanceLock(LockFile lock) : m_lock(std::move(lock)) {}
  LockFile m_lock;
};

// Read-only: whether the instance's lock is held now.
[[nodiscard]] LockState probe_lock(const InstancePaths& paths);

} // namespace kvmrun::instance
