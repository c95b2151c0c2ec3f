#include "base/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace kvmrun {

std::size_t max_unix_socket_path() { return sizeof(sockaddr_un::sun_path) - 1; }

namespace {

Result<sockaddr_un> socket_address(const std::filesystem::path& path) {
  const std::string p = path.string();
  if (p.size() > max_unix_socket_path())
    return Error(ErrorCode::io,
                 "the socket path " + p + " is longer than " +
                     std::to_string(max_unix_socket_path()) + " bytes",
                 "use a shorter runtime directory (KVMRUN_RUNTIME_DIR) or instance name");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  return addr;
}

} // namespace

Result<UniqueFd> connect_unix(const std::filesystem::path& path) {
  const auto addr = socket_address(path);
  if (!addr)
    return addr.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return system_error(ErrorCode::io, "creating a socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0)
    return system_error(ErrorCode::qemu, "connecting to " + path.string(), errno,
                        errno == ENOENT || errno == ECONNREFUSED
                            ? "is the instance running? kvmrun status shows it"
                            : "");
  return fd;
}

Result<UniqueFd> listen_unix(const std::filesystem::path& path, int backlog) {
  const std::string p = path.string();
  const auto addr = socket_address(path);
  if (!addr)
    return addr.error();
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Error(ErrorCode::io, p + " exists and is not a socket", "remove it");
    ::unlink(p.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return system_error(ErrorCode::io, "creating a socket", errno);
  const mode_t old = ::umask(0077);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  const int bind_errno = errno;
  ::umask(old);
  if (bound != 0)
    return system_error(ErrorCode::io, "binding " + p, bind_errno);
  if (::listen(fd.get(), backlog) != 0)
    return system_error(ErrorCode::io, "listening on " + p, errno);
  return fd;
}

} // namespace kvmrun
