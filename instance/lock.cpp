#include "instance/lock.hpp"

#include "base/file_io.hpp"

namespace kvmrun::instance {

Result<InstanceLock> InstanceLock::acquire(const InstancePaths& paths, std::string_view instance) {
  if (auto made = create_private_dirs(paths.runtime); !made)
    return std::move(made).error();
  auto lock = LockFile::acquire(paths.lock(), "instance '" + std::string(instance) + "'");
  if (!lock && lock.error().code() == ErrorCode::io && !std::filesystem::exists(paths.runtime)) {
    // The directory went with a cleanup that finished meanwhile: make it again, once.
    if (auto made = create_private_dirs(paths.runtime); !made)
      return std::move(made).error();
    lock = LockFile::acquire(paths.lock(), "instance '" + std::string(instance) + "'");
  }
  if (!lock)
    return std::move(lock).error();
  return InstanceLock(std::move(lock).value());
}

LockState probe_lock(const InstancePaths& paths) { return probe_lock_file(paths.lock()); }

} // namespace kvmrun::instance
