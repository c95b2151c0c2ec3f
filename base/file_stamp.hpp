// What a file looked like when kvmrun last hashed it in full: its size, inode and modification
// time. A file changed in any ordinary way since then differs in one of these (a forged mtime on
// a same-size edit in place does not: that takes a full check). The image cache and templates
// record one beside a digest so that most uses cost a stat, not a hash.
#pragma once

#include "base/json_record.hpp"
#include "base/result.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>

struct stat;

namespace kvmrun {

struct FileStamp {
  std::uint64_t size = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

[[nodiscard]] FileStamp stamp_of(const struct stat& st);
// The file's stamp now; ErrorCode::io naming it when it cannot be stat'ed.
[[nodiscard]] Result<FileStamp> stamp_file(const std::filesystem::path& file);
// {"size": ..., "inode": ..., "mtime_ns": ...}
[[nodiscard]] boost::json::object stamp_json(const FileStamp& stamp);
// Read back from such an object; nullopt when a field is missing or not an integer.
[[nodiscard]] std::optional<FileStamp> stamp_from(const JsonRecord& record);

} // namespace kvmrun
