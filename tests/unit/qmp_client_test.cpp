// QmpClient against a scripted fake peer on a socketpair: every misbehaviour of RELIABILITY.md
// class 3. The client must never block forever and never confuse an event with a reply.
#include "qmp/qmp_client.hpp"
#include "tests/support/socket_peer.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace kvmrun::qmp {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view greeting =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}})"
    "\r\n";

class QmpClientTest : public ::testing::Test {
protected:
  // Greets, answers qmp_capabilities, and runs the loop until the client is ready.
  void connect() {
    peer.write(greeting);
    std::optional<Status> ready;
    client.adopt(peer.take_client_end(), deadline_after(5s), [&](Status s) { ready = s; });
    const auto negotiation = next_request();
    ASSERT_EQ(negotiation.at("execute").as_string(), "qmp_capabilities");
    reply(negotiation, "{}");
    run_until([&] { return ready.has_value(); });
    ASSERT_TRUE(ready && ready->ok());
  }

  // The next request the client sent, parsed (running the loop so that it gets sent).
  boost::json::object next_request() {
    loop.run_until([] { return false; }, deadline_after(10ms));
    const auto line = peer.read_line(5s);
    EXPECT_TRUE(line.has_value()) << "the client sent nothing";
    return line ? boost::json::parse(*line).as_object() : boost::json::object{};
  }

  void reply(const boost::json::object& request, std::string_view value) {
    peer.write(R"({"return": )" + std::string(value) + R"(, "id": ")" +
                   std::string(request.at("id").as_string()) + "\"}\r\n",
               [this] { loop.run_until([] { return false; }, deadline_after(1ms)); });
  }

  void run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    ASSERT_TRUE(loop.run_until(done, deadline_after(limit))) << "the loop did not finish";
  }

  // Starts a command and returns where its result will land.
  std::shared_ptr<std::optional<Result<boost::json::value>>>
  start(std::string_view command, std::chrono::milliseconds timeout = 5s) {
    auto slot = std::make_shared<std::optional<Result<boost::json::value>>>();
    client.execute(command, {}, deadline_after(timeout),
                   [slot](Result<boost::json::value> r) { *slot = std::move(r); });
    return slot;
  }

  EventLoop loop;
  testing::SocketPeer peer;
  QmpClient client{loop};
};

TEST_F(QmpClientTest, ReadsTheGreetingNegotiatesAndRunsACommand) {
  connect();
  EXPECT_EQ(client.greeting().at("version").at("qemu").at("major").as_int64(), 7);
  auto result = start("query-status");
  const auto request = next_request();
  EXPECT_EQ(request.at("execute").as_string(), "query-status");
  EXPECT_EQ(std::string(request.at("id").as_string()).substr(0, 7), "kvmrun-");
  reply(request, R"({"status": "running", "running": true})");
  run_until([&] { return result->has_value(); });
  ASSERT_TRUE(result->value().ok());
  EXPECT_EQ(result->value()->at("status").as_string(), "running");
}

TEST_F(QmpClientTest, NoGreetingFailsAtTheDeadline) {
  std::optional<Status> ready;
  const auto started = Clock::now();
  client.adopt(peer.take_client_end(), deadline_after(200ms), [&](Status s) { ready = s; });
  run_until([&] { return ready.has_value(); });
  ASSERT_FALSE(ready->ok());
  EXPECT_EQ(ready->error().code(), ErrorCode::timeout);
  EXPECT_NE(ready->error().message().find("no QMP greeting"), std::string::npos);
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST_F(QmpClientTest, ABadGreetingIsAProtocolError) {
  peer.write(R"({"return": {}})"
             "\r\n");
  std::optional<Status> ready;
  client.adopt(peer.take_client_end(), deadline_after(5s), [&](Status s) { ready = s; });
  run_until([&] { return ready.has_value(); });
  ASSERT_FALSE(ready->ok());
  EXPECT_EQ(ready->error().code(), ErrorCode::protocol);
}

TEST_F(QmpClientTest, APeerThatHangsUpBeforeTheGreetingFailsPromptly) {
  std::optional<Status> ready;
  client.adopt(peer.take_client_end(), deadline_after(10s), [&](Status s) { ready = s; });
  peer.hang_up();
  run_until([&] { return ready.has_value(); }, 1s);
  ASSERT_FALSE(ready->ok());
  EXPECT_NE(ready->error().describe().find("connection lost"), std::string::npos);
}

TEST_F(QmpClientTest, EventsBeforeAndBetweenRepliesAreQueuedNotTakenForReplies) {
  connect();
  auto first = start("stop");
  auto second = start("cont");
  const auto r1 = next_request();
  const auto r2 = next_request();
  peer.write(
      R"({"event": "STOP", "data": {}, "timestamp": {"seconds": 1700000000, "microseconds": 5}})"
      "\r\n");
  reply(r2, "{}"); // out of order
  peer.write(
      R"({"event": "RESUME", "data": {}, "timestamp": {"seconds": 1700000001, "microseconds": 0}})"
      "\r\n");
  reply(r1, R"({"first": true})");
  run_until([&] { return first->has_value() && second->has_value(); });
  ASSERT_TRUE(first->value().ok());
  EXPECT_TRUE(first->value()->at("first").as_bool());
  ASSERT_TRUE(second->value().ok());
  auto stop = client.wait_event_sync("STOP", deadline_after(1s));
  ASSERT_TRUE(stop.ok());
  EXPECT_DOUBLE_EQ(stop->timestamp, 1700000000.000005);
  const auto rest = client.take_events();
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].name, "RESUME");
}

TEST_F(QmpClientTest, AWaiterGetsAnEventThatArrivesLater) {
  connect();
  std::optional<Result<QmpEvent>> event;
  client.wait_event("SHUTDOWN", deadline_after(5s), [&](Result<QmpEvent> e) { event = e; });
  peer.write(R"({"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}})"
             "\r\n");
  run_until([&] { return event.has_value(); });
  ASSERT_TRUE(event->ok());
  EXPECT_EQ(event->value().data.at("reason").as_string(), "guest-shutdown");
  const auto none = client.wait_event_sync("RESET", deadline_after(50ms));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::timeout);
}

TEST_F(QmpClientTest, UnknownAndMissingIdsAreIgnored) {
  connect();
  auto result = start("query-status");
  const auto request = next_request();
  peer.write(R"({"return": {"status": "forged"}, "id": "kvmrun-999"})"
             "\r\n");
  peer.write(R"({"return": {"status": "anonymous"}})"
             "\r\n");
  peer.write(R"({"greeting?": true})"
             "\r\n");
  reply(request, R"({"status": "paused"})");
  run_until([&] { return result->has_value(); });
  ASSERT_TRUE(result->value().ok());
  EXPECT_EQ(result->value()->at("status").as_string(), "paused");
  EXPECT_EQ(client.unmatched_replies(), 3U);
}

TEST_F(QmpClientTest, ErrorRepliesCarryTheQmpErrorClass) {
  connect();
  auto result = start("no-such-command");
  const auto request = next_request();
  peer.write(
      R"({"error": {"class": "CommandNotFound", "desc": "The command no-such-command has not been found"}, "id": ")" +
      std::string(request.at("id").as_string()) + "\"}\r\n");
  run_until([&] { return result->has_value(); });
  ASSERT_FALSE(result->value().ok());
  EXPECT_EQ(result->value().error().code(), ErrorCode::qemu);
  EXPECT_NE(result->value().error().message().find("CommandNotFound"), std::string::npos);
}

TEST_F(QmpClientTest, RepliesSplitIntoTinyWritesOrBatchedTogetherAreReassembled) {
  connect();
  auto a = start("query-status");
  auto b = start("query-block");
  const auto ra = next_request();
  const auto rb = next_request();
  const std::string both = R"({"return": 1, "id": ")" + std::string(ra.at("id").as_string()) +
                           "\"}\r\n" + R"({"return": 2, "id": ")" +
                           std::string(rb.at("id").as_string()) + "\"}\r\n";
  for (std::size_t i = 0; i < both.size(); i += 3) {
    peer.write(std::string_view(both).substr(i, 3));
    loop.run_until([] { return false; }, deadline_after(1ms));
  }
  run_until([&] { return a->has_value() && b->has_value(); });
  EXPECT_EQ(a->value()->as_int64(), 1);
  EXPECT_EQ(b->value()->as_int64(), 2);
}

TEST_F(QmpClientTest, AHugeSingleLineReplyIsAccepted) {
  connect();
  auto result = start("human-monitor-command");
  const auto request = next_request();
  reply(request, "\"" + std::string(6U << 20U, 'x') + "\"");
  run_until([&] { return result->has_value(); });
  ASSERT_TRUE(result->value().ok());
  EXPECT_EQ(result->value()->as_string().size(), 6U << 20U);
}

TEST_F(QmpClientTest, AReplyOverTheCapClosesTheConnectionAndFailsPendingCommands) {
  QmpOptions small;
  small.limits.framer.max_message = 4096;
  QmpClient tight(loop, small);
  peer.write(greeting);
  std::optional<Status> ready;
  tight.adopt(peer.take_client_end(), deadline_after(5s), [&](Status s) { ready = s; });
  const auto negotiation = next_request();
  reply(negotiation, "{}");
  run_until([&] { return ready.has_value(); });
  std::optional<Result<boost::json::value>> result;
  tight.execute("x", {}, deadline_after(5s), [&](auto r) { result = std::move(r); });
  const auto request = next_request();
  reply(request, "\"" + std::string(10000, 'x') + "\"");
  run_until([&] { return result.has_value(); });
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code(), ErrorCode::protocol);
  EXPECT_FALSE(tight.ready());
}

TEST_F(QmpClientTest, InvalidJsonOrUtf8ClosesTheConnectionWithAProtocolError) {
  for (const std::string& bad :
       {std::string("{\"return\": }\r\n"), std::string("{\"return\": \"\xc3\x28\"}\r\n")}) {
    EventLoop l;
    testing::SocketPeer p;
    QmpClient c(l);
    p.write(greeting);
    std::optional<Status> ready;
    c.adopt(p.take_client_end(), deadline_after(5s), [&](Status s) { ready = s; });
    l.run_until([] { return false; }, deadline_after(10ms));
    const auto neg = boost::json::parse(*p.read_line()).as_object();
    p.write(R"({"return": {}, "id": ")" + std::string(neg.at("id").as_string()) + "\"}\r\n");
    l.run_until([&] { return ready.has_value(); }, deadline_after(5s));
    std::optional<Result<boost::json::value>> result;
    c.execute("x", {}, deadline_after(5s), [&](auto r) { result = std::move(r); });
    p.write(bad);
    ASSERT_TRUE(l.run_until([&] { return result.has_value(); }, deadline_after(5s)));
    ASSERT_FALSE(result->ok());
    EXPECT_EQ(result->error().code(), ErrorCode::protocol) << result->error().describe();
  }
}

TEST_F(QmpClientTest, EofMidReplyFailsEveryPendingCommandPromptly) {
  connect();
  auto a = start("query-status", 30s);
  auto b = start("query-block", 30s);
  (void)next_request();
  peer.write(R"({"return": {"status": "run)");
  peer.hang_up();
  const auto started = Clock::now();
  run_until([&] { return a->has_value() && b->has_value(); }, 2s);
  EXPECT_LT(Clock::now() - started, 500ms);
  for (const auto& r : {a, b}) {
    ASSERT_FALSE(r->value().ok());
    EXPECT_NE(r->value().error().describe().find("connection lost"), std::string::npos);
  }
  // Later commands fail at once too.
  auto late = start("cont");
  run_until([&] { return late->has_value(); }, 1s);
  EXPECT_FALSE(late->value().ok());
}

TEST_F(QmpClientTest, ACommandWithoutAReplyTimesOutAndItsLateReplyIsIgnored) {
  connect();
  auto result = start("query-status", 100ms);
  const auto request = next_request();
  run_until([&] { return result->has_value(); });
  ASSERT_FALSE(result->value().ok());
  EXPECT_EQ(result->value().error().code(), ErrorCode::timeout);
  EXPECT_NE(result->value().error().message().find("query-status"), std::string::npos);
  reply(request, "{}");
  auto next = start("cont");
  reply(next_request(), R"("fine")");
  run_until([&] { return next->has_value(); });
  EXPECT_EQ(next->value()->as_string(), "fine");
  EXPECT_EQ(client.unmatched_replies(), 1U);
}

TEST_F(QmpClientTest, APeerThatStopsReadingCannotBlockTheClient) {
  QmpOptions small;
  small.limits.max_write_buffer = 256 * 1024;
  QmpClient c(loop, small);
  peer.shrink_buffers();
  peer.write(greeting);
  std::optional<Status> ready;
  c.adopt(peer.take_client_end(), deadline_after(5s), [&](Status s) { ready = s; });
  const auto negotiation = next_request();
  reply(negotiation, "{}");
  run_until([&] { return ready.has_value(); });
  // The peer reads nothing more. Big commands pile up until the buffer cap refuses one.
  boost::json::object args{{"command-line", std::string(32 * 1024, 'x')}};
  std::size_t failed = 0, timed_out = 0;
  const auto started = Clock::now();
  for (int i = 0; i < 64; ++i)
    c.execute("human-monitor-command", args, deadline_after(300ms), [&](auto r) {
      if (!r.ok() && r.error().code() == ErrorCode::protocol)
        ++failed;
      if (!r.ok() && r.error().code() == ErrorCode::timeout)
        ++timed_out;
    });
  run_until([&] { return failed + timed_out == 64; }, 5s);
  EXPECT_GT(failed, 0U);
  EXPECT_GT(timed_out, 0U);
  EXPECT_LT(Clock::now() - started, 2s);
}

} // namespace
} // namespace kvmrun::qmp

namespace kvmrun::qmp {
namespace {

TEST_F(QmpClientTest, ACommandSentAfterThePeerLeftFailsAtOnceNotAtItsDeadline) {
  connect();
  peer.hang_up(); // nobody has run the loop since, so the client has not seen the EOF yet
  const auto started = Clock::now();
  const auto r = client.execute_sync("query-status", {}, deadline_after(10s));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("connection lost"), std::string::npos);
  EXPECT_LT(Clock::now() - started, 1s);
}

} // namespace
} // namespace kvmrun::qmp
