#include "tests/support/socket_peer.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

namespace kvmrun::testing {

SocketPeer::SocketPeer() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error("socketpair failed");
  m_peer.reset(fds[0]);
  m_client.reset(fds[1]);
}

void SocketPeer::write(std::string_view bytes, const std::function<void()>& pump) {
  while (!bytes.empty()) {
    const ssize_t n =
        ::send(m_peer.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | (pump ? MSG_DONTWAIT : 0));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN && pump) {
        pump();
        continue;
      }
      throw std::runtime_error("peer write failed");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::optional<std::string> SocketPeer::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (const auto nl = m_buffer.find('\n'); nl != std::string::npos) {
      std::string line = m_buffer.substr(0, nl);
      m_buffer.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd pfd{m_peer.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[65536];
    const ssize_t n = ::recv(m_peer.get(), buf, sizeof buf, 0);
    if (n <= 0)
      return std::nullopt;
    m_buffer.append(buf, static_cast<std::size_t>(n));
  }
}

std::string SocketPeer::drain() {
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(m_peer.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0)
      break;
    m_buffer.append(buf, static_cast<std::size_t>(n));
  }
  return std::exchange(m_buffer, {});
}

void SocketPeer::shrink_buffers() {
  const int small = 4096;
  ::setsockopt(m_peer.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ::setsockopt(m_client.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
}

} // namespace kvmrun::testing
