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

#include <filesystem>
#include <optional>

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

// Who is bringing the instance up: `up` records its pid (InstancePaths::bringing_up) once it
// holds the lock and clears it when the instance's gates have passed or failed, so another
// `up` can wait for it instead of calling a half-started instance ready. The record counts
// only while it names a live process running the same program as `self` (a pid alone is never
// trusted: a crashed kvmrun's pid may belong to anything by now).
[[nodiscard]] Status mark_bringing_up(const InstancePaths& paths);
void clear_bringing_up(const InstancePaths& paths);
[[nodiscard]] std::optional<pid_t> bringing_up(const InstancePaths& paths,
                                               const std::filesystem::path& self);
// The pid a record such as up.pid or saving.pid names, if it is a live process running the
// program at `self` other than this one.
[[nodiscard]] std::optional<pid_t> live_kvmrun_in(const std::filesystem::path& record,
                                                  const std::filesystem::path& self);
// Whether live process `pid` runs the program at `self` (/proc/PID/exe).
[[nodiscard]] bool runs_program(pid_t pid, const std::filesystem::path& self);

} // namespace kvmrun::instance
