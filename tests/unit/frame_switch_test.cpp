#include "network/frame_switch.hpp"

#include <gtest/gtest.h>

#include <string>

namespace kvmrun::network {
namespace {

std::string frame(std::uint8_t dst_last, std::uint8_t src_last, bool broadcast = false) {
  std::string f(60, '\0');
  for (int i = 0; i < 6; ++i)
    f[static_cast<std::size_t>(i)] = broadcast ? '\xff'
                                               : (i == 5   ? static_cast<char>(dst_last)
                                                  : i == 0 ? '\x52'
                                                           : '\0');
  for (int i = 0; i < 6; ++i)
    f[6 + static_cast<std::size_t>(i)] = i == 5   ? static_cast<char>(src_last)
                                         : i == 0 ? '\x52'
                                                  : '\0';
  f[12] = '\x08'; // IPv4
  return f;
}

using Ports = std::vector<std::size_t>;

TEST(FrameSwitch, FloodsBroadcastsAndUnknownDestinationsToEveryOtherPort) {
  FrameSwitch sw(3);
  EXPECT_EQ(sw.route(0, frame(0, 0xA, true)), (Ports{1, 2}));
  EXPECT_EQ(sw.route(1, frame(0xC, 0xB)), (Ports{0, 2})) << "C not learnt yet";
  EXPECT_EQ(sw.counters().flooded, 2U);
}

TEST(FrameSwitch, SendsAFrameForALearntMacToThatPortOnly) {
  FrameSwitch sw(3);
  (void)sw.route(0, frame(0, 0xA, true)); // learns A on 0
  EXPECT_EQ(sw.route(1, frame(0xA, 0xB)), (Ports{0}));
  EXPECT_EQ(sw.route(0, frame(0xB, 0xA)), (Ports{1}));
  EXPECT_EQ(sw.counters().forwarded, 2U);
  // A moves to port 2: learnt again from its next frame.
  (void)sw.route(2, frame(0, 0xA, true));
  EXPECT_EQ(sw.route(1, frame(0xA, 0xB)), (Ports{2}));
}

TEST(FrameSwitch, DropsRuntsGroupSourcesUnknownPortsAndFramesForTheirOwnPort) {
  FrameSwitch sw(2);
  EXPECT_TRUE(sw.route(0, std::string(13, '\0')).empty());
  std::string group_source = frame(0xB, 0xA);
  group_source[6] = '\x01';
  EXPECT_TRUE(sw.route(0, group_source).empty());
  EXPECT_TRUE(sw.route(7, frame(0xB, 0xA)).empty());
  (void)sw.route(0, frame(0, 0xA, true));
  (void)sw.route(0, frame(0, 0xB, true)); // B is on port 0 too
  EXPECT_TRUE(sw.route(0, frame(0xB, 0xA)).empty()) << "it stays where it came from";
  EXPECT_EQ(sw.counters().dropped, 4U);
}

TEST(FrameSwitch, ItsTableIsBounded) {
  FrameSwitch sw(2);
  for (std::size_t i = 0; i <= FrameSwitch::max_macs; ++i) {
    std::string f = frame(0, 0, true);
    f[9] = static_cast<char>(i >> 16U);
    f[10] = static_cast<char>(i >> 8U);
    f[11] = static_cast<char>(i);
    (void)sw.route(0, f);
  }
  EXPECT_LE(sw.learnt(), FrameSwitch::max_macs);
}

} // namespace
} // namespace kvmrun::network
