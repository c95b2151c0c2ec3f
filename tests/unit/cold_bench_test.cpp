// `bench cold`'s pure parts: spreads, the /proc parsers, time.txt and summary.json from
// fabricated runs, and `report` reading a bench summary back (a damaged one is an error naming
// the file and the field, never an abort).
#include "base/file_io.hpp"
#include "evidence/cold_bench.hpp"
#include "evidence/process_usage.hpp"
#include "evidence/run_report.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

namespace kvmrun::evidence {
namespace {

using namespace std::chrono_literals;

TEST(Spread, OddEvenOneAndNoSamples) {
  const auto odd = spread_of({30, 10, 20});
  EXPECT_EQ(odd.min, 10);
  EXPECT_EQ(odd.median, 20);
  EXPECT_EQ(odd.max, 30);
  EXPECT_EQ(spread_of({4, 1, 3, 2}).median, 2); // (2 + 3) / 2, rounded down
  EXPECT_EQ(spread_of({7}).median, 7);
  const auto none = spread_of({});
  EXPECT_EQ(none.min + none.median + none.max, 0);
}

TEST(ProcStat, UtimeAndStimeAfterACommandNameWithSpacesAndParentheses) {
  const std::string stat =
      "4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 99 1 2\n";
  const auto u = parse_proc_stat(stat, 100);
  ASSERT_TRUE(u.ok()) << u.error().describe();
  EXPECT_EQ(u->user, 2500ms);
  EXPECT_EQ(u->system, 500ms);
  EXPECT_EQ(u->minor_faults, 100);
  EXPECT_EQ(u->major_faults, 0);
  EXPECT_FALSE(parse_proc_stat("4242 qemu S 1", 100).ok()) << "no command name";
  EXPECT_FALSE(parse_proc_stat("4242 (qemu) S 1 2 3", 100).ok()) << "too few fields";
  EXPECT_FALSE(parse_proc_stat("4242 (q) S 1 4 4 0 -1 4 1 0 0 0 x 50 0", 100).ok());
}

TEST(ProcStat, TheRealFilesOfThisProcess) {
  const auto u = process_usage(::getpid());
  ASSERT_TRUE(u.ok()) << u.error().describe();
  EXPECT_GT(u->peak_rss_kib, 0);
  EXPECT_GT(u->rss_kib, 0);
  EXPECT_GE(u->peak_rss_kib, u->rss_kib);
  EXPECT_EQ(parse_vm_hwm("Name:\tx\nVmHWM:\t   7480 kB\nVmRSS:\t1 kB\n"), 7480);
  EXPECT_EQ(parse_vm_hwm("Name:\tkthreadd\n"), 0);
  EXPECT_GE(own_usage().peak_rss_kib, 1);
  EXPECT_TRUE(reset_own_peak_rss().ok());
  EXPECT_FALSE(process_usage(-1).ok());
}

ColdRun run_of(int number, std::int64_t up_ms, std::string outcome = "ok") {
  ColdRun r;
  r.number = number;
  r.outcome = std::move(outcome);
  r.started = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  r.up = std::chrono::milliseconds(up_ms);
  r.down = 3000ms;
  r.kvmrun = {10ms, 30ms, 7000 + number};
  r.qemu = {4000ms, 500ms, 270000};
  const auto at = [&](std::int64_t ms) { return r.started + std::chrono::milliseconds(ms); };
  r.events = {{"stage", "preflight", "", at(0), 1ms, "ok", ""},
              {"stage", "runtime", "", at(5), std::chrono::milliseconds(up_ms - 10), "ok", ""},
              {"gate", "boot", "web", at(40), std::chrono::milliseconds(up_ms / 2), "ok", ""},
              {"gate", "agent", "web", at(40 + up_ms / 2), 100ms, "ok", ""},
              {"gate", "boot", "db", at(40), 900ms, "ok", ""}};
  return r;
}

ColdBench bench_of(std::vector<ColdRun> runs, int planned) {
  return ColdBench{"lab1",        {"web", "db"}, "kvmrun bench cold --runs 3",
                   "2 CPUs, tcg", planned,       std::move(runs)};
}

TEST(ColdSummary, SpreadsPerStageGateAndInstanceOverTheRunsThatPassed) {
  const auto bench = bench_of({run_of(1, 5000), run_of(2, 4000), run_of(3, 9999, "failed")}, 3);
  const auto s = cold_summary(bench);
  EXPECT_EQ(s.at("kind").as_string(), cold_bench_kind);
  EXPECT_EQ(s.at("ok").as_int64(), 2);
  EXPECT_EQ(s.at("outcome").as_string(), "failed");
  const auto& up = s.at("up_ms").as_object();
  EXPECT_EQ(up.at("min").as_int64(), 4000);
  EXPECT_EQ(up.at("median").as_int64(), 4500);
  EXPECT_EQ(up.at("max").as_int64(), 5000);
  EXPECT_EQ(s.at("gate_ms").at("boot").at("max").as_int64(), 2500) << "web's and db's boots";
  EXPECT_EQ(s.at("gate_ms").at("boot").at("min").as_int64(), 900);
  EXPECT_EQ(s.at("ready_ms").at("web").at("max").as_int64(), 40 + 2500 + 100);
  EXPECT_EQ(s.at("ready_ms").at("db").at("min").as_int64(), 940);
  EXPECT_EQ(s.at("stage_ms").as_object().begin()->key(), "preflight") << "in the run's order";
  EXPECT_EQ(s.at("runs").as_array().size(), 3U);
  EXPECT_EQ(s.at("slowest").as_array().at(0).at("name").as_string(), "boot");

  const auto text = cold_time_text(bench);
  EXPECT_NE(text.find("2 of 3 run(s) ok"), std::string::npos) << text;
  EXPECT_NE(text.find("\n3       failed   9999"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmedian           4500"), std::string::npos) << text;
  EXPECT_NE(text.find("apt update/upgrade off"), std::string::npos) << text;
}

class BenchReport : public ::testing::Test {
protected:
  Result<std::string> report_of(const std::string& summary) {
    testing::write_file(m_dir / "summary.json", summary);
    return render_report(m_dir.path());
  }
  std::string whole() const {
    return boost::json::serialize(cold_summary(bench_of({run_of(1, 5000), run_of(2, 4000)}, 2)));
  }
  testing::TempDir m_dir;
};

TEST_F(BenchReport, ShowsTheSpreadOfUpStagesGatesAndReadiness) {
  const auto text = report_of(whole());
  ASSERT_TRUE(text.ok()) << text.error().describe();
  EXPECT_NE(text->find("bench cold, lab lab1: 2 of 2 run(s) ok"), std::string::npos) << *text;
  EXPECT_NE(text->find("up to every gate passed: 4500 ms (4000-5000)"), std::string::npos) << *text;
  EXPECT_NE(text->find("  boot                    1450 ms (900-2500)"), std::string::npos) << *text;
  EXPECT_NE(text->find("  web                     2390 ms (2140-2640)"), std::string::npos)
      << *text;
  EXPECT_NE(text->find("  gate boot (web)"), std::string::npos) << *text;
}

TEST_F(BenchReport, DamagedOrForeignBenchSummariesAreIoErrorsNamingTheField) {
  const std::string good = whole();
  for (std::size_t cut = 0; cut < good.size(); cut += 97) {
    const auto r = report_of(good.substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().code(), ErrorCode::io);
  }
  for (const auto& [from, to, field] : std::vector<std::array<std::string, 3>>{
           {"\"up_ms\":{\"min\":4000", "\"up_ms\":{\"min\":\"4000\"", "min"},
           {"\"ok\":2", "\"ok\":[]", "ok"},
           {"\"gate_ms\":{", "\"gate_ms\":{\"x\":3,", "x"},
           {"\"kind\":\"bench-cold\"", "\"kind\":\"bench-warm\"", "kind"},
           {"\"kind\":\"bench-cold\"", "\"kind\":7", "kind"}}) {
    std::string edited = good;
    ASSERT_NE(edited.find(from), std::string::npos) << from;
    edited.replace(edited.find(from), from.size(), to);
    const auto r = report_of(edited);
    ASSERT_FALSE(r.ok()) << edited;
    EXPECT_EQ(r.error().code(), ErrorCode::io) << edited;
    EXPECT_NE(r.error().message().find("summary.json"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(field), std::string::npos) << r.error().message();
  }
}

} // namespace
} // namespace kvmrun::evidence
