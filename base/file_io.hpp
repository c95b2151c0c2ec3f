// Whole-file reads and crash-safe writes. A write goes to a temporary file beside the target,
// is fsynced, renamed over the target and the directory fsynced: readers see the old file or the
// new one, never a torn or empty one.
#pragma once

#include "base/result.hpp"

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace kvmrun {

// How much a replacement must survive.
enum class Durability {
  // fsync the file before the rename and the directory after it: after a crash the target is
  // the old or the new version. For kvmrun's own state (instance records, cache entries).
  durable,
  // fsync the file only; the caller syncs the directory once after creating several files in
  // it (sync_directory), as provisioning an instance does.
  file_synced,
  // Atomic rename only: readers never see a torn file, but a crash may lose the new version.
  // For derived artifacts kvmrun rewrites on every run (seed ISOs).
  regenerated,
};

// Replaces `target` with `bytes`, created with permission bits `mode` (not widened by umask).
// On failure the target is untouched and no temporary file is left. ErrorCode::io.
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& target, std::string_view bytes,
                                       mode_t mode = 0600,
                                       Durability durability = Durability::durable);

// Creates `path` with `bytes`, failing (ErrorCode::io, EEXIST) if anything already exists there:
// for disks and other files that must never be replaced by accident. Same durability rules.
[[nodiscard]] Status create_file_exclusive(const std::filesystem::path& path,
                                           std::string_view bytes, mode_t mode = 0600,
                                           Durability durability = Durability::durable);

// Writes all of `bytes` at `offset` of an open file (retrying short writes and EINTR).
// ErrorCode::io naming `what`.
[[nodiscard]] Status write_at(int fd, std::string_view bytes, off_t offset,
                              const std::string& what);

// fsync a directory, making the names created in it durable. ErrorCode::io.
[[nodiscard]] Status sync_directory(const std::filesystem::path& dir);

// Reads a whole file; refuses files larger than `max_bytes`. ErrorCode::io.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            std::size_t max_bytes = 64U << 20U);

// Creates `dir` and its missing parents with mode 0700 (and makes `dir` itself 0700, keeping
// only the bits that let others pass through without listing it, o+x and g+x, where they were
// set: root's kvmrun opens its directories so to QEMU, instance/qemu_user.hpp). ErrorCode::io.
[[nodiscard]] Status create_private_dirs(const std::filesystem::path& dir);

} // namespace kvmrun
