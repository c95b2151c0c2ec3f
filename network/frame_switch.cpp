#include "network/frame_switch.hpp"

#include <algorithm>

namespace kvmrun::network {

namespace {

constexpr std::size_t ethernet_header = 14; // destination, source, EtherType

std::array<std::uint8_t, 6> mac_at(std::string_view frame, std::size_t offset) {
  std::array<std::uint8_t, 6> mac{};
  for (std::size_t i = 0; i < mac.size(); ++i)
    mac[i] = static_cast<std::uint8_t>(frame[offset + i]);
  return mac;
}

} // namespace

std::vector<std::size_t> FrameSwitch::route(std::size_t from, std::string_view frame) {
  if (from >= m_ports || frame.size() < ethernet_header) {
    ++m_counters.dropped;
    return {};
  }
  const auto destination = mac_at(frame, 0);
  const auto source = mac_at(frame, 6);
  if ((source[0] & 1U) != 0) { // a group address cannot be a source
    ++m_counters.dropped;
    return {};
  }
  if (m_table.size() >= max_macs && !m_table.contains(source))
    m_table.clear();
  m_table[source] = from;
  if ((destination[0] & 1U) == 0) { // unicast
    if (const auto it = m_table.find(destination); it != m_table.end()) {
      if (it->second == from) {
        ++m_counters.dropped; // it stays on the port it came from
        return {};
      }
      ++m_counters.forwarded;
      return {it->second};
    }
  }
  ++m_counters.flooded;
  std::vector<std::size_t> out;
  for (std::size_t p = 0; p < m_ports; ++p)
    if (p != from)
      out.push_back(p);
  return out;
}

} // namespace kvmrun::network
