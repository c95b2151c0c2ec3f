#include "qmp/json_channel.hpp"

#include "base/unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kvmrun::qmp {

JsonChannel::JsonChannel(EventLoop& loop, ChannelLimits limits)
    : m_loop(loop), m_limits(limits), m_framer(limits.framer) {}

JsonChannel::~JsonChannel() {
  *m_alive = false;
  if (m_fd.valid())
    m_loop.unwatch(m_fd.get());
}

Status JsonChannel::connect(const std::filesystem::path& socket) {
  auto fd = connect_unix(socket);
  if (!fd)
    return std::move(fd).error();
  adopt(std::move(fd).value());
  return {};
}

void JsonChannel::adopt(UniqueFd fd) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
  m_fd = std::move(fd);
}

void JsonChannel::start(MessageHandler on_message, CloseHandler on_closed) {
  m_on_message = std::move(on_message);
  m_on_closed = std::move(on_closed);
  m_started = true;
  if (!m_fd.valid())
    return;
  m_loop.watch(m_fd.get(), true, !m_out.empty(), [this](unsigned events) { on_events(events); });
}

Status JsonChannel::send(std::string_view bytes) {
  if (!m_fd.valid())
    return Error(ErrorCode::qemu, "connection lost: the channel is closed");
  if (m_out.size() + bytes.size() > m_limits.max_write_buffer)
    return Error(ErrorCode::protocol, "the peer is not reading: " + std::to_string(m_out.size()) +
                                          " bytes are still waiting to be sent");
  m_out.append(bytes);
  flush();
  if (!m_fd.valid()) // the write found the peer gone
    return Error(ErrorCode::qemu, "connection lost: the peer closed the socket");
  return {};
}

void JsonChannel::flush() {
  while (!m_out.empty() && m_fd.valid()) {
    const ssize_t n = ::send(m_fd.get(), m_out.data(), m_out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      close(system_error(ErrorCode::qemu, "connection lost: writing to the socket", errno));
      return;
    }
    m_out.erase(0, static_cast<std::size_t>(n));
  }
  if (m_fd.valid() && m_started)
    m_loop.update(m_fd.get(), true, !m_out.empty());
}

void JsonChannel::on_events(unsigned events) {
  const auto alive = m_alive;
  if ((events & EventLoop::writable) != 0U)
    flush();
  if (!*alive || !m_fd.valid() || (events & EventLoop::readable) == 0U)
    return;
  char buffer[65536];
  while (m_fd.valid()) {
    const ssize_t n = ::recv(m_fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      close(system_error(ErrorCode::qemu, "connection lost: reading from the socket", errno));
      return;
    }
    if (n == 0) {
      close(Error(ErrorCode::qemu, "connection lost: the peer closed the socket"));
      return;
    }
    std::vector<boost::json::object> messages;
    const Status fed =
        m_framer.feed(std::string_view(buffer, static_cast<std::size_t>(n)), messages);
    for (auto& message : messages) {
      if (!*alive || !m_fd.valid())
        return;
      m_on_message(std::move(message));
    }
    if (!*alive)
      return;
    if (!fed) {
      close(fed.error());
      return;
    }
  }
}

void JsonChannel::close(const Error& reason) {
  if (!m_fd.valid())
    return;
  m_loop.unwatch(m_fd.get());
  m_fd.reset();
  m_out.clear();
  if (m_on_closed) {
    auto handler = std::move(m_on_closed);
    m_on_closed = nullptr;
    handler(reason);
  }
}

} // namespace kvmrun::qmp
