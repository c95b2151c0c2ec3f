#include "base/file_stamp.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace kvmrun {

FileStamp stamp_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

Result<FileStamp> stamp_file(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return Error(ErrorCode::io, "cannot stat " + file.string() + ": " + std::strerror(errno));
  return stamp_of(st);
}

boost::json::object stamp_json(const FileStamp& s) {
  return {{"size", s.size}, {"inode", s.inode}, {"mtime_ns", s.mtime_ns}};
}

std::optional<FileStamp> stamp_from(const JsonRecord& record) {
  const auto size = record.integer("size"), inode = record.integer("inode"),
             mtime = record.integer("mtime_ns");
  if (!size || !inode || !mtime || *size < 0 || *inode < 0)
    return std::nullopt;
  return FileStamp{static_cast<std::uint64_t>(*size), static_cast<std::uint64_t>(*inode), *mtime};
}

} // namespace kvmrun
