#include "base/file_io.hpp"

#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace kvmrun {

namespace {

// Writes `bytes` into a new, empty file, leaving all-zero 4 KiB blocks as holes (disk images
// and ISOs are mostly zeros; holes read back as zeros and cost nothing to write or flush).
Status write_sparse(int fd, std::string_view bytes, const std::string& what) {
  constexpr std::size_t block = 4096;
  static const std::string zeros(block, '\0');
  std::size_t run_start = 0;
  bool in_run = false;
  for (std::size_t at = 0; at < bytes.size(); at += block) {
    const auto piece = bytes.substr(at, block);
    const bool zero = piece.size() == block && piece == std::string_view(zeros);
    if (!zero && !in_run) {
      run_start = at;
      in_run = true;
    } else if (zero && in_run) {
      if (auto w = write_at(fd, bytes.substr(run_start, at - run_start),
                            static_cast<off_t>(run_start), what);
          !w)
        return w;
      in_run = false;
    }
  }
  if (in_run)
    if (auto w = write_at(fd, bytes.substr(run_start), static_cast<off_t>(run_start), what); !w)
      return w;
  if (::ftruncate(fd, static_cast<off_t>(bytes.size())) != 0)
    return system_error(ErrorCode::io, "sizing " + what, errno);
  return {};
}

} // namespace

namespace {

// Writes a temporary file beside `target` and moves it into place: over an existing file when
// `replace`, else only if nothing is there (renameat2 RENAME_NOREPLACE).
Status write_via_temp(const std::filesystem::path& target, std::string_view bytes, mode_t mode,
                      Durability durability, bool replace) {
  const bool sync_file = durability != Durability::regenerated;
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp-XXXXXX";
  std::string temp = (dir / name).string();
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0)
    return system_error(ErrorCode::io, "creating a temporary file in " + dir.string(), errno);
  const auto fail = [&](Error error) {
    ::unlink(temp.c_str());
    return error;
  };
  if (::fchmod(fd.get(), mode) != 0)
    return fail(system_error(ErrorCode::io, "setting the mode of " + temp, errno));
  if (auto written = write_sparse(fd.get(), bytes, temp); !written)
    return fail(std::move(written).error());
  if (sync_file && ::fsync(fd.get()) != 0)
    return fail(system_error(ErrorCode::io, "flushing " + temp, errno));
  if (::close(fd.release()) != 0)
    return fail(system_error(ErrorCode::io, "closing " + temp, errno));
  const int moved =
      replace ? ::rename(temp.c_str(), target.c_str())
              : ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
  if (moved != 0) {
    if (errno == EEXIST)
      return fail(Error(ErrorCode::io,
                        target.string() + " already exists; kvmrun never replaces it",
                        "remove it first if it is no longer needed"));
    return fail(system_error(ErrorCode::io, "renaming " + temp + " to " + target.string(), errno));
  }
  if (durability != Durability::durable)
    return {};
  return sync_directory(dir);
}

} // namespace

Status write_at(int fd, std::string_view bytes, off_t offset, const std::string& what) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR)
        continue;
      return system_error(
          ErrorCode::io, "writing " + what, err,
          err == ENOSPC || err == EDQUOT ? "free space on the file system that holds " + what : "");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += n;
  }
  return {};
}

Status sync_directory(const std::filesystem::path& dir) {
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0)
    return system_error(ErrorCode::io, "flushing the directory " + dir.string(), errno);
  return {};
}

Status write_file_atomic(const std::filesystem::path& target, std::string_view bytes, mode_t mode,
                         Durability durability) {
  return write_via_temp(target, bytes, mode, durability, true);
}

Status create_file_exclusive(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                             Durability durability) {
  return write_via_temp(path, bytes, mode, durability, false);
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return system_error(ErrorCode::io, "opening " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return system_error(ErrorCode::io, "inspecting " + path.string(), errno);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return Error(ErrorCode::io,
                 path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
  std::string content;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return system_error(ErrorCode::io, "reading " + path.string(), errno);
    }
    if (n == 0)
      break;
    if (content.size() + static_cast<std::size_t>(n) > max_bytes)
      return Error(ErrorCode::io, path.string() + " grew beyond " + std::to_string(max_bytes) +
                                      " bytes while being read");
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

Status create_private_dirs(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path sofar;
  for (const auto& part : dir) {
    sofar /= part;
    if (std::filesystem::exists(sofar, ec))
      continue;
    if (::mkdir(sofar.c_str(), 0700) != 0 && errno != EEXIST)
      return system_error(ErrorCode::io, "creating directory " + sofar.string(), errno);
  }
  struct stat st {};
  const mode_t pass = ::stat(dir.c_str(), &st) == 0 ? st.st_mode & (S_IXGRP | S_IXOTH) : 0;
  if (::chmod(dir.c_str(), 0700 | pass) != 0)
    return system_error(ErrorCode::io, "making " + dir.string() + " private", errno);
  return {};
}

} // namespace kvmrun
