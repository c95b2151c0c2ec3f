#include "instance/lock.hpp"

#include "base/file_io.hpp"

#include <unistd.h>

#include <charconv>

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

Status mark_bringing_up(const InstancePaths& paths) {
  return write_file_atomic(paths.bringing_up(), std::to_string(::getpid()) + "\n", 0600,
                           Durability::regenerated);
}

void clear_bringing_up(const InstancePaths& paths) {
  std::error_code ec;
  std::filesystem::remove(paths.bringing_up(), ec);
}

std::optional<pid_t> bringing_up(const InstancePaths& paths, const std::filesystem::path& self) {
  return live_kvmrun_in(paths.bringing_up(), self);
}

std::optional<pid_t> live_kvmrun_in(const std::filesystem::path& record,
                                    const std::filesystem::path& self) {
  const auto text = read_file(record, 64);
  if (!text)
    return std::nullopt;
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
  if (ec != std::errc() || pid <= 0 || pid == ::getpid())
    return std::nullopt;
  if (!runs_program(pid, self))
    return std::nullopt;
  return pid;
}

bool runs_program(pid_t pid, const std::filesystem::path& self) {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
  constexpr std::string_view deleted = " (deleted)"; // the binary was replaced since it started
  if (exe.size() > deleted.size() && exe.ends_with(deleted))
    exe.resize(exe.size() - deleted.size());
  return !ec && !self.empty() && exe == self.string();
}

} // namespace kvmrun::instance
