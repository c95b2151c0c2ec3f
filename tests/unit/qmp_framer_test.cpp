#include "qmp/framer.hpp"

#include <gtest/gtest.h>

namespace kvmrun::qmp {
namespace {

std::vector<boost::json::object> feed_all(LineFramer& f, std::vector<std::string_view> chunks) {
  std::vector<boost::json::object> out;
  for (auto c : chunks) {
    const auto s = f.feed(c, out);
    EXPECT_TRUE(s.ok()) << s.error().describe();
  }
  return out;
}

TEST(LineFramer, SplitsSeveralMessagesArrivingInOneRead) {
  LineFramer f;
  const auto out = feed_all(f, {"{\"a\":1}\r\n{\"b\":2}\n{\"c\":3}\r\n"});
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[2].at("c").as_int64(), 3);
}

TEST(LineFramer, JoinsOneMessageArrivingOneByteAtATime) {
  LineFramer f;
  const std::string msg = "{\"return\": {\"status\": \"running\"}, \"id\": \"kvmrun-1\"}\r\n";
  std::vector<boost::json::object> out;
  for (std::size_t i = 0; i < msg.size(); ++i) {
    ASSERT_TRUE(f.feed(std::string_view(msg).substr(i, 1), out).ok());
    if (i + 1 < msg.size()) {
      EXPECT_TRUE(out.empty());
    }
  }
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].at("id").as_string(), "kvmrun-1");
  EXPECT_EQ(f.buffered(), 0U);
}

TEST(LineFramer, SkipsBlankLines) {
  LineFramer f;
  EXPECT_EQ(feed_all(f, {"\r\n\n  \n{\"a\":1}\n"}).size(), 1U);
}

TEST(LineFramer, RefusesAMessageOverTheSizeCapEvenBeforeItsNewline) {
  LineFramer f(FramerLimits{1024, 64});
  std::vector<boost::json::object> out;
  const std::string big = "{\"a\":\"" + std::string(2000, 'x');
  const auto s = f.feed(big, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::protocol);
  EXPECT_NE(s.error().message().find("exceeds the limit"), std::string::npos);
}

TEST(LineFramer, AcceptsAHugeMessageUnderTheCap) {
  LineFramer f;
  const std::string big = "{\"return\":\"" + std::string(8U << 20U, 'x') + "\",\"id\":\"x\"}\n";
  std::vector<boost::json::object> out;
  for (std::size_t i = 0; i < big.size(); i += 65536)
    ASSERT_TRUE(f.feed(std::string_view(big).substr(i, 65536), out).ok());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].at("return").as_string().size(), 8U << 20U);
}

TEST(LineFramer, RefusesNestingDeeperThanTheCap) {
  LineFramer f(FramerLimits{1U << 20U, 16});
  std::vector<boost::json::object> out;
  const std::string deep = "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}\n";
  EXPECT_FALSE(f.feed(deep, out).ok());
}

TEST(LineFramer, RefusesInvalidJsonInvalidUtf8AndNonObjects) {
  for (const std::string& bad : std::vector<std::string>{
           "{\"a\":}\n", "{\"a\":\"\xff\xfe\"}\n", "[1,2]\n", "42\n", "{\"a\":1} trailing\n"}) {
    LineFramer f;
    std::vector<boost::json::object> out;
    const auto s = f.feed(bad, out);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::protocol);
  }
}

TEST(LineFramer, DeliversTheGoodMessagesBeforeABadOne) {
  LineFramer f;
  std::vector<boost::json::object> out;
  EXPECT_FALSE(f.feed("{\"a\":1}\n{oops}\n", out).ok());
  EXPECT_EQ(out.size(), 1U);
}

TEST(LineFramer, SkipsStaleBytesUpToTheAgentsSentinel) {
  LineFramer f;
  std::vector<boost::json::object> out;
  ASSERT_TRUE(f.feed("{\"return\": \"stale\"}\n{\"partial", out).ok());
  EXPECT_EQ(out.size(), 1U);
  out.clear();
  f.skip_until_sentinel();
  ASSERT_TRUE(f.feed("garbage {\"return\": 1}\n", out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(f.skipping());
  ASSERT_TRUE(f.feed("more\xff{\"return\": 42}\n", out).ok());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].at("return").as_int64(), 42);
}

TEST(LineFramer, AgentSentinelsDiscardAPartialLineButKeepWholeOnes) {
  LineFramer f(FramerLimits{1U << 20U, 64, true});
  std::vector<boost::json::object> out;
  ASSERT_TRUE(
      f.feed("{\"return\": 1}\n{\"half\xff{\"return\": 2}\n\xff{\"return\": 3}\n", out).ok());
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[2].at("return").as_int64(), 3);
  LineFramer qmp;
  EXPECT_FALSE(qmp.feed("\xff{\"return\": 2}\n", out).ok()) << "QMP never sends 0xFF";
}

} // namespace
} // namespace kvmrun::qmp
