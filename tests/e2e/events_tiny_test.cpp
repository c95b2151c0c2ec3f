// `kvmrun up --json` with the tiny guest: the events arrive while the run goes on, every line is
// JSON of the documented schema, and the end records are timings.jsonl's, in its order.
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

namespace kvmrun::testing {
namespace {

using Clock = std::chrono::steady_clock;

TEST(TinyEvents, UpJsonStreamsEventsAsTheyHappenAndTheyAreTheEvidencesRecords) {
  Lab lab(one_tiny_lab("ev"));
  // Read line by line as the run writes them, noting when each arrived.
  std::FILE* pipe =
      ::popen((shell_words(lab.argv({"up", "--json"})) + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::vector<std::pair<Clock::time_point, boost::json::object>> lines;
  char buffer[1 << 16];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    boost::system::error_code ec;
    auto v = boost::json::parse(buffer, ec);
    ASSERT_FALSE(ec) << "not JSON: " << buffer;
    ASSERT_TRUE(v.is_object()) << buffer;
    lines.emplace_back(Clock::now(), v.as_object());
  }
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0);
  ASSERT_GE(lines.size(), 10U);
  for (const auto& [when, o] : lines)
    EXPECT_EQ(o.at("schema").as_string(), "kvmrun.events/1");

  // Streamed, not written at the end: the first line came seconds before the last (the guest's
  // boot lies between them).
  EXPECT_GT(lines.back().first - lines.front().first, std::chrono::seconds(1));
  const auto& result = lines.back().second;
  EXPECT_EQ(result.at("event").as_string(), "result");
  EXPECT_EQ(result.at("outcome").as_string(), "ok");
  EXPECT_EQ(result.at("exit_code").as_int64(), 0);

  // Each gate starts before it ends; the end records are timings.jsonl, line for line.
  std::vector<boost::json::object> ends;
  std::vector<std::string> started;
  for (const auto& [when, o] : lines) {
    const auto event = o.at("event").as_string();
    if (event == "start" && o.at("kind").as_string() == "gate")
      started.emplace_back(o.at("name").as_string());
    if (event == "end") {
      ends.push_back(o.at("record").as_object());
      if (ends.back().at("kind").as_string() == "gate") {
        EXPECT_NE(std::find(started.begin(), started.end(),
                            std::string(ends.back().at("name").as_string())),
                  started.end());
      }
    }
  }
  EXPECT_EQ(started.size(), 9U) << "one start per gate";
  const auto jsonl = read_file(
      std::filesystem::path(std::string(result.at("evidence").as_string())) / "timings.jsonl",
      1U << 20U);
  ASSERT_TRUE(jsonl.ok());
  std::vector<boost::json::object> recorded;
  std::size_t from = 0;
  for (auto nl = jsonl->find('\n'); nl != std::string::npos; nl = jsonl->find('\n', from)) {
    recorded.push_back(boost::json::parse(jsonl->substr(from, nl - from)).as_object());
    from = nl + 1;
  }
  EXPECT_EQ(ends, recorded);

  // `kvmrun events` replays the same records from the evidence, then the result.
  const auto replay_of = [](const std::string& text) {
    std::vector<boost::json::object> out;
    std::size_t at = 0;
    for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', at)) {
      out.push_back(boost::json::parse(text.substr(at, nl - at)).as_object());
      at = nl + 1;
    }
    return out;
  };
  auto replay = lab.run({"events"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  auto replayed = replay_of(replay.out);
  ASSERT_EQ(replayed.size(), recorded.size() + 1);
  for (std::size_t i = 0; i < recorded.size(); ++i)
    EXPECT_EQ(replayed[i].at("record").as_object(), recorded[i]);
  EXPECT_EQ(replayed.back().at("outcome").as_string(), "ok");

  // --follow on a run in progress: it waits for the run's records and ends with it.
  ASSERT_EQ(lab.run({"down"}).exit_code, 0);
  const auto latest = lab.state() / "ev" / "runs" / "latest";
  const auto before = std::filesystem::canonical(latest);
  std::FILE* up = ::popen((shell_words(lab.argv({"up"})) + " >/dev/null 2>&1").c_str(), "r");
  ASSERT_NE(up, nullptr);
  std::filesystem::path current = before;
  for (int i = 0; i < 200 && current == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::error_code ec;
    current = std::filesystem::canonical(latest, ec);
    if (ec)
      current = before;
  }
  ASSERT_NE(current, before) << "the second up started no run";
  auto followed = lab.run({"events", "--follow", current.string()});
  EXPECT_EQ(::pclose(up), 0);
  ASSERT_EQ(followed.exit_code, 0) << followed.err;
  const auto lines_followed = replay_of(followed.out);
  ASSERT_FALSE(lines_followed.empty());
  EXPECT_EQ(lines_followed.back().at("event").as_string(), "result");
  EXPECT_EQ(lines_followed.back().at("outcome").as_string(), "ok");
  EXPECT_EQ(lines_followed.size(), replay_of(lab.run({"events", current.string()}).out).size())
      << "following saw every record the run wrote";
  auto missing = lab.run({"events", (lab.state() / "nope").string()});
  EXPECT_EQ(missing.exit_code, 3);
  // A torn record is an error naming the file and the line, after the lines before it.
  const auto torn = lab.state() / "torn";
  std::filesystem::create_directories(torn);
  write_file(torn / "timings.jsonl", jsonl->substr(0, jsonl->find('\n') + 1) + "{\"kind\":\"ga\n");
  auto broken = lab.run({"events", torn.string()});
  EXPECT_EQ(broken.exit_code, 10) << broken.err;
  EXPECT_NE(broken.err.find("timings.jsonl:2"), std::string::npos) << broken.err;
  EXPECT_EQ(replay_of(broken.out).size(), 1U);

  // check and down take --json too: their records in the same schema, people's lines on stderr,
  // and a result without evidence (they keep none).
  const auto check = lab.run({"check", "--json"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.err.find("ok   agent"), std::string::npos) << check.err;
  const auto checked = replay_of(check.out);
  ASSERT_FALSE(checked.empty());
  std::size_t gate_ends = 0;
  for (const auto& o : checked)
    if (o.at("event").as_string() == "end") {
      EXPECT_EQ(o.at("record").at("kind").as_string(), "gate");
      EXPECT_EQ(o.at("record").at("outcome").as_string(), "ok") << o;
      ++gate_ends;
    }
  EXPECT_EQ(gate_ends, 9U);
  EXPECT_EQ(checked.back(), boost::json::parse(R"({"schema":"kvmrun.events/1","event":"result",)"
                                               R"("outcome":"ok","exit_code":0})"));
  const auto down = lab.run({"down", "--json"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.err.find("tiny-1: stopped (quit"), std::string::npos) << down.err;
  const auto stopped = replay_of(down.out);
  ASSERT_EQ(stopped.size(), 3U) << down.out;
  EXPECT_EQ(stopped[0].at("event").as_string(), "start");
  EXPECT_EQ(stopped[0].at("name").as_string(), "stop qemu");
  const auto& stop = stopped[1].at("record").as_object();
  EXPECT_EQ(stop.at("name").as_string(), "stop qemu");
  EXPECT_EQ(stop.at("instance").as_string(), "tiny-1");
  EXPECT_EQ(stop.at("outcome").as_string(), "ok");
  EXPECT_EQ(stop.at("detail").as_string(), "quit");
  EXPECT_GE(stop.at("duration_ms").as_int64(), 3000) << "the tiny guest ignores ACPI for 3 s";
  EXPECT_EQ(stopped[2].at("outcome").as_string(), "ok");
  const auto again = replay_of(lab.run({"down", "--json"}).out);
  ASSERT_EQ(again.size(), 2U);
  EXPECT_EQ(again[0].at("record").at("outcome").as_string(), "skipped");
  EXPECT_EQ(again[0].at("record").at("detail").as_string(), "not running");
}

} // namespace
} // namespace kvmrun::testing
