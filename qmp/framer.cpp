#include "qmp/framer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

namespace kvmrun::qmp {

void LineFramer::skip_until_sentinel() {
  m_skipping = true;
  m_buffer.clear();
  m_scanned = 0;
}

Status LineFramer::feed(std::string_view bytes, std::vector<boost::json::object>& out) {
  while (true) {
    if (m_skipping) {
      const auto sentinel = bytes.find('\xFF');
      if (sentinel == std::string_view::npos)
        return {};
      m_skipping = false;
      bytes.remove_prefix(sentinel + 1);
    }
    const auto sentinel = m_limits.agent_sentinels ? bytes.find('\xFF') : std::string_view::npos;
    if (auto fed = feed_lines(bytes.substr(0, sentinel), out); !fed)
      return fed;
    if (sentinel == std::string_view::npos)
      return {};
    m_buffer.clear(); // the partial line before the marker is garbage
    m_scanned = 0;
    bytes.remove_prefix(sentinel + 1);
  }
}

Status LineFramer::feed_lines(std::string_view bytes, std::vector<boost::json::object>& out) {
  m_buffer.append(bytes);
  boost::json::parse_options options;
  options.max_depth = m_limits.max_depth;
  std::size_t start = 0;
  while (true) {
    const auto nl = m_buffer.find('\n', std::max(start, m_scanned));
    if (nl == std::string::npos) {
      m_scanned = m_buffer.size();
      break;
    }
    std::string_view line(m_buffer.data() + start, nl - start);
    start = nl + 1;
    if (line.size() > m_limits.max_message)
      return Error(ErrorCode::protocol, "a message of " + std::to_string(line.size()) +
                                            " bytes exceeds the limit of " +
                                            std::to_string(m_limits.max_message));
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      continue;
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec, {}, options);
    if (ec)
      return Error(ErrorCode::protocol, "invalid JSON from the peer (" + ec.message() +
                                            "): " + std::string(line.substr(0, 120)));
    if (!value.is_object())
      return Error(ErrorCode::protocol, "the peer sent a JSON " +
                                            std::string(value.is_array() ? "array" : "scalar") +
                                            " where a message object belongs");
    out.push_back(std::move(value.get_object()));
  }
  m_buffer.erase(0, start);
  m_scanned -= std::min(m_scanned, start);
  if (m_buffer.size() > m_limits.max_message)
    return Error(ErrorCode::protocol, "a message exceeds the limit of " +
                                          std::to_string(m_limits.max_message) + " bytes");
  return {};
}

} // namespace kvmrun::qmp
