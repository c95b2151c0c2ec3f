// Splits a byte stream into JSON messages, one per line, as QMP and the guest agent send them
// (QMP ends lines with CRLF, the agent with LF). Treats the stream as hostile: a line longer
// than the cap, nesting deeper than the cap, invalid JSON or UTF-8, or a message that is not
// an object is a protocol error. Pure; feed it whatever arrives, however it is split.
#pragma once

#include "base/result.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::qmp {

struct FramerLimits {
  std::size_t max_message = 32U << 20U; // bytes in one message
  std::size_t max_depth = 64;           // nesting of arrays and objects
  // Guest agent: a 0xFF byte (the agent's resynchronisation marker) ends and discards any
  // partial line before it; complete lines before it are still delivered.
  bool agent_sentinels = false;
};

class LineFramer {
public:
  explicit LineFramer(FramerLimits limits = {}) : m_limits(limits) {}

  // Appends `bytes` and moves every complete message into `out`. After an error the framer is
  // unusable (the stream has lost sync) and the connection should be closed.
  [[nodiscard]] Status feed(std::string_view bytes, std::vector<boost::json::object>& out);

  // Discards input up to and including the next 0xFF byte: the guest agent sends 0xFF before
  // its reply to guest-sync-delimited, so stale bytes in the channel are dropped.
  void skip_until_sentinel();
  [[nodiscard]] bool skipping() const { return m_skipping; }
  [[nodiscard]] std::size_t buffered() const { return m_buffer.size(); }

private:
  [[nodiscard]] Status feed_lines(std::string_view bytes, std::vector<boost::json::object>& out);

  FramerLimits m_limits;
  std::string m_buffer;
  std::size_t m_scanned = 0; // bytes of m_buffer known to hold no newline
  bool m_skipping = false;
};

} // namespace kvmrun::qmp
