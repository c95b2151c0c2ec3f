// A file's digest, streamed 1 MiB at a time (base images, template files, firmware code).
#pragma once

#include "base/digest.hpp"
#include "base/result.hpp"

#include <filesystem>
#include <string>

namespace kvmrun {

// Feeds every byte of an open file (from its start, by pread) to `digest`; `path` names it in
// errors. ErrorCode::io on read errors.
[[nodiscard]] Status hash_fd(int fd, Digest& digest, const std::filesystem::path& path);

// The hex digest of the file at `path`. ErrorCode::io when it cannot be opened or read.
[[nodiscard]] Result<std::string> hash_file(const std::filesystem::path& path,
                                            DigestAlgorithm algorithm);

} // namespace kvmrun
