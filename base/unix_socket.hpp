// Listening unix sockets that kvmrun creates itself and hands to QEMU (as an inherited fd), so
// the socket exists before QEMU starts: no polling for a file to appear, no race.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <filesystem>

namespace kvmrun {

// Binds and listens on `path` (mode 0600 through a 0077 umask for the bind). A stale socket
// file at `path` is replaced; any other file there is an error. ErrorCode::io.
[[nodiscard]] Result<UniqueFd> listen_unix(const std::filesystem::path& path, int backlog = 4);

// A non-blocking connection to the listening socket at `path`. ErrorCode::qemu when nothing
// listens there (the remedy asks whether the instance is running), ErrorCode::io otherwise.
[[nodiscard]] Result<UniqueFd> connect_unix(const std::filesystem::path& path);

// The longest path a unix socket can have (sun_path without its terminating NUL).
[[nodiscard]] std::size_t max_unix_socket_path();

} // namespace kvmrun
