// AgentClient against a scripted fake agent: stale bytes before the sync, replies with other
// sync ids, one command at a time, resynchronisation after a timeout, errors, hang-ups.
#include "qmp/agent_commands.hpp"
#include "tests/support/socket_peer.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace kvmrun::qmp {
namespace {

using namespace std::chrono_literals;

class AgentClientTest : public ::testing::Test {
protected:
  void SetUp() override { agent.adopt(peer.take_client_end()); }

  void pump() {
    loop.run_until([] { return false; }, deadline_after(5ms));
  }

  // The next request, with any leading 0xFF removed.
  boost::json::object next_request() {
    pump();
    auto line = peer.read_line(5s);
    EXPECT_TRUE(line.has_value());
    if (!line)
      return {};
    if (!line->empty() && line->front() == '\xFF')
      line->erase(0, 1);
    return boost::json::parse(*line).as_object();
  }

  // Answers the client's sync request, after `stale` bytes the agent had queued earlier.
  void answer_sync(std::string_view stale = "") {
    const auto sync = next_request();
    ASSERT_EQ(sync.at("execute").as_string(), "guest-sync-delimited");
    const auto id = sync.at("arguments").at("id").as_int64();
    peer.write(std::string(stale) + "\xFF" + R"({"return": )" + std::to_string(id) + "}\n");
  }

  template <typename T> T run(std::optional<T>& slot) {
    EXPECT_TRUE(loop.run_until([&] { return slot.has_value(); }, deadline_after(5s)));
    return std::move(*slot);
  }

  EventLoop loop;
  testing::SocketPeer peer;
  AgentClient agent{loop};
};

TEST_F(AgentClientTest, SynchronisesPastStaleBytesBeforeTheFirstCommand) {
  std::optional<Result<boost::json::value>> result;
  agent.execute("guest-ping", {}, deadline_after(5s), [&](auto r) { result = std::move(r); });
  answer_sync(R"({"return": "stale reply"})"
              "\n"
              R"({"half a mess)");
  const auto ping = next_request();
  EXPECT_EQ(ping.at("execute").as_string(), "guest-ping");
  peer.write(R"({"return": {}})"
             "\n");
  const auto r = run(result);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(agent.synced());
}

TEST_F(AgentClientTest, IgnoresSyncRepliesWithAnotherId) {
  std::optional<Result<boost::json::value>> result;
  agent.execute("guest-ping", {}, deadline_after(5s), [&](auto r) { result = std::move(r); });
  const auto sync = next_request();
  const auto id = sync.at("arguments").at("id").as_int64();
  peer.write("\xFF"
             R"({"return": 12345})"
             "\n");
  pump();
  EXPECT_FALSE(agent.synced());
  peer.write("\xFF"
             R"({"return": )" +
             std::to_string(id) + "}\n");
  EXPECT_EQ(next_request().at("execute").as_string(), "guest-ping");
  peer.write(R"({"return": {}})"
             "\n");
  EXPECT_TRUE(run(result).ok());
}

TEST_F(AgentClientTest, RunsCommandsOneAtATimeInOrder) {
  std::vector<std::string> done;
  for (const char* cmd : {"guest-ping", "guest-info", "guest-get-osinfo"})
    agent.execute(cmd, {}, deadline_after(5s), [&, cmd](auto r) {
      EXPECT_TRUE(r.ok());
      done.push_back(cmd);
    });
  answer_sync();
  for (const char* cmd : {"guest-ping", "guest-info", "guest-get-osinfo"}) {
    EXPECT_EQ(next_request().at("execute").as_string(), cmd);
    EXPECT_EQ(peer.drain(), "") << "a second command was sent before the first was answered";
    peer.write(R"({"return": {}})"
               "\n");
  }
  loop.run_until([&] { return done.size() == 3; }, deadline_after(5s));
  EXPECT_EQ(done, (std::vector<std::string>{"guest-ping", "guest-info", "guest-get-osinfo"}));
}

TEST_F(AgentClientTest, ATimeoutForcesAResyncSoTheLateReplyIsNotTakenForTheNextOne) {
  std::optional<Result<boost::json::value>> first, second;
  agent.execute("guest-info", {}, deadline_after(150ms), [&](auto r) { first = std::move(r); });
  answer_sync();
  (void)next_request();
  const auto late = run(first);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::timeout);
  EXPECT_FALSE(agent.synced());
  agent.execute("guest-ping", {}, deadline_after(5s), [&](auto r) { second = std::move(r); });
  peer.write(R"({"return": {"version": "late info"}})"
             "\n"); // the first command's late reply
  answer_sync();
  EXPECT_EQ(next_request().at("execute").as_string(), "guest-ping");
  peer.write(R"({"return": {"pong": true}})"
             "\n");
  const auto r = run(second);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->as_object().contains("pong"));
}

TEST_F(AgentClientTest, AnAgentThatNeverAnswersTheSyncTimesOutWithAHint) {
  std::optional<Result<boost::json::value>> result;
  agent.execute("guest-ping", {}, deadline_after(100ms), [&](auto r) { result = std::move(r); });
  const auto r = run(result);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::timeout);
  EXPECT_NE(r.error().message().find("is it running"), std::string::npos);
}

TEST_F(AgentClientTest, ErrorRepliesBecomeGuestErrors) {
  std::optional<Result<boost::json::value>> result;
  agent.execute("guest-file-open", {{"path", "/nope"}}, deadline_after(5s),
                [&](auto r) { result = std::move(r); });
  answer_sync();
  (void)next_request();
  peer.write(
      R"({"error": {"class": "GenericError", "desc": "failed to open file '/nope': No such file or directory"}})"
      "\n");
  const auto r = run(result);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::guest);
  EXPECT_NE(r.error().message().find("No such file"), std::string::npos);
}

TEST_F(AgentClientTest, AHangUpFailsEveryQueuedCommandPromptly) {
  std::size_t failed = 0;
  for (int i = 0; i < 3; ++i)
    agent.execute("guest-ping", {}, deadline_after(30s), [&](auto r) {
      if (!r.ok() && r.error().describe().find("connection lost") != std::string::npos)
        ++failed;
    });
  answer_sync();
  (void)next_request();
  peer.hang_up();
  EXPECT_TRUE(loop.run_until([&] { return failed == 3; }, deadline_after(1s)));
}

} // namespace
} // namespace kvmrun::qmp
