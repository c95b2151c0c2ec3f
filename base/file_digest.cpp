#include "base/file_digest.hpp"

#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kvmrun {

Status hash_fd(int fd, Digest& digest, const std::filesystem::path& path) {
  std::string buffer(1U << 20U, '\0');
  off_t offset = 0;
  while (true) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return system_error(ErrorCode::io, "reading " + path.string(), errno);
    }
    if (n == 0)
      return {};
    digest.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    offset += n;
  }
}

Result<std::string> hash_file(const std::filesystem::path& path, DigestAlgorithm algorithm) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return system_error(ErrorCode::io, "opening " + path.string(), errno);
  Digest d(algorithm);
  if (auto status = hash_fd(fd.get(), d, path); !status)
    return std::move(status).error();
  return to_hex(d.finish());
}

} // namespace kvmrun
