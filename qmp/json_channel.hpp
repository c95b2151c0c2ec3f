// A non-blocking unix-socket connection carrying line-framed JSON messages, driven by an
// EventLoop. Writes are buffered up to a cap, so a peer that stops reading cannot block
// kvmrun; reads go through the LineFramer. Closing (by either side, or on a protocol error)
// reports one Error to on_closed, exactly once. The QMP and guest-agent clients build on it.
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "qmp/framer.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace kvmrun::qmp {

struct ChannelLimits {
  FramerLimits framer;
  std::size_t max_write_buffer = 16U << 20U;
};

class JsonChannel {
public:
  using MessageHandler = std::function<void(boost::json::object message)>;
  using CloseHandler = std::function<void(const Error& reason)>;

  JsonChannel(EventLoop& loop, ChannelLimits limits);
  ~JsonChannel();
  JsonChannel(const JsonChannel&) = delete;
  JsonChannel& operator=(const JsonChannel&) = delete;

  // Connects to a unix socket (ErrorCode::qemu when nobody listens there).
  [[nodiscard]] Status connect(const std::filesystem::path& socket);
  // Uses an already connected socket (an inherited fd, one end of a socketpair).
  void adopt(UniqueFd fd);
  // Starts delivering messages and the close reason.
  void start(MessageHandler on_message, CloseHandler on_closed);

  // Queues bytes to send. ErrorCode::protocol if the peer has not read what was queued before
  // and the buffer would exceed its cap; ErrorCode::qemu if the channel is closed.
  [[nodiscard]] Status send(std::string_view bytes);
  void skip_until_sentinel() { m_framer.skip_until_sentinel(); }

  void close(const Error& reason);
  [[nodiscard]] bool is_open() const { return m_fd.valid(); }

private:
  void on_events(unsigned events);
  void flush();

  EventLoop& m_loop;
  ChannelLimits m_limits;
  LineFramer m_framer;
  UniqueFd m_fd;
  std::string m_out;
  MessageHandler m_on_message;
  CloseHandler m_on_closed;
  bool m_started = false;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

} // namespace kvmrun::qmp
