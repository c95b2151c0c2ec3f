// An Ethernet learning switch over numbered ports, pure: a frame and the port it came from in,
// the ports it goes out to. It learns which port each source MAC sends from; a frame to a known
// unicast MAC goes to that port only, broadcast, multicast and unknown destinations go to every
// other port (IEEE 802.1D's forwarding, without spanning tree: a lab segment has no loops).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

namespace kvmrun::network {

class FrameSwitch {
public:
  explicit FrameSwitch(std::size_t ports) : m_ports(ports) {}

  // Where `frame` from port `from` goes. A runt (shorter than an Ethernet header), a frame
  // from an unknown port, or one whose source MAC is multicast goes nowhere.
  [[nodiscard]] std::vector<std::size_t> route(std::size_t from, std::string_view frame);

  struct Counters {
    std::uint64_t forwarded = 0; // to one learnt port
    std::uint64_t flooded = 0;   // to every other port
    std::uint64_t dropped = 0;
  };
  [[nodiscard]] const Counters& counters() const { return m_counters; }
  [[nodiscard]] std::size_t learnt() const { return m_table.size(); }

  // The table is bounded: past this many MACs it is cleared and learnt again.
  static constexpr std::size_t max_macs = 4096;

private:
  using Mac = std::array<std::uint8_t, 6>;
  std::size_t m_ports;
  std::map<Mac, std::size_t> m_table;
  Counters m_counters;
};

} // namespace kvmrun::network
