// A run's evidence written and read back: a failed write is kept and reported by finish(), and
// `report` reads summary.json field by field (a damaged one is an error naming the field).
#include "base/file_io.hpp"
#include "evidence/run_evidence.hpp"
#include "evidence/run_report.hpp"
#include "evidence/stopwatch.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace kvmrun::evidence {
namespace {

using namespace std::chrono_literals;

TimingEvent event(std::string kind, std::string name, std::chrono::milliseconds took) {
  return TimingEvent{
      std::move(kind), std::move(name), "web", std::chrono::system_clock::now(), took, "ok",
      "detail"};
}

TEST(IsoTime, ReadsBackWhatItWritesToTheMillisecondAndNothingElse) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796148000123));
  EXPECT_EQ(iso_time(t), "2026-12-01T18:00:00.123Z");
  EXPECT_EQ(parse_iso_time(iso_time(t)), t);
  for (const char* bad :
       {"", "2026-12-01T18:00:00Z", "2026-12-01T18:00:00.123", "2026-12-01 18:00:00.123Z",
        "2026-12-01T18:00:00.123Zx", "not a time at all, really",
        // found by the state_files fuzzer: a year whose nanoseconds overflow the clock
        "1014-12-01T18:00:00.123Z", "-999-12-01T18:00:00.123Z", "+026-12-01T18:00:00.123Z",
        // out of range fields that timegm would quietly normalise
        "2026-02-30T18:00:00.123Z", "2026-13-01T18:00:00.123Z", "2026-12-01T24:00:00.123Z",
        "2026-12-01T18:00:0 .123Z"})
    EXPECT_FALSE(parse_iso_time(bad).has_value()) << bad;
}

TEST(RunEvidence, FinishesWithTheReportOfARunAndRedactsSecrets) {
  testing::TempDir dir;
  auto ev = RunEvidence::create(dir.path(), "up --stage full", {"hunter2"});
  ASSERT_TRUE(ev.ok()) << ev.error().describe();
  ev->record(event("stage", "provision", 1500ms));
  ev->record(event("gate", "agent", 31300ms));
  ev->save("web/argv.json", "[\"qemu\", \"password=hunter2\"]\n");
  ASSERT_TRUE(ev->finish("ok").ok());
  EXPECT_EQ(*read_file(ev->dir() / "web" / "argv.json"), "[\"qemu\", \"password=[redacted]\"]\n");
  const auto text = render_report(dir / "runs" / "latest");
  ASSERT_TRUE(text.ok()) << text.error().describe();
  EXPECT_NE(text->find(": up --stage full, ok, wall time "), std::string::npos) << *text;
  EXPECT_NE(text->find("stages:\n  provision     1.5 s\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("  gate agent (web)"), std::string::npos) << *text;
}

TEST(RunEvidence, AWriteThatFailedDuringTheRunIsReportedByFinish) {
  testing::TempDir dir;
  auto ev = RunEvidence::create(dir.path(), "up", {});
  ASSERT_TRUE(ev.ok()) << ev.error().describe();
  // Where the instance's evidence directory should go, a file: saving into it fails.
  testing::write_file(ev->dir() / "web", "not a directory");
  ev->save("web/serial.log", "Linux version 6.1\n");
  const auto finished = ev->finish("ok");
  ASSERT_FALSE(finished.ok()) << "a lost evidence file must not pass silently";
  EXPECT_EQ(finished.error().code(), ErrorCode::io);
  EXPECT_NE(finished.error().describe().find("writing the evidence of this run in "),
            std::string::npos)
      << finished.error().describe();
  EXPECT_TRUE(std::filesystem::exists(ev->dir() / "summary.json")) << "the rest is still written";
}

class DamagedSummary : public ::testing::Test {
protected:
  Result<std::string> report_of(const std::string& summary) {
    testing::write_file(m_dir / "summary.json", summary);
    return render_report(m_dir.path());
  }
  testing::TempDir m_dir;
};

TEST_F(DamagedSummary, AnEmptyObjectIsAnIoErrorNamingTheFirstMissingField) {
  const auto r = report_of("{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::io);
  EXPECT_EQ(r.error().message(),
            (m_dir / "summary.json").string() + ": field \"command\" is missing");
}

TEST_F(DamagedSummary, TruncatedEmptyAndWrongTypedSummariesAreIoErrorsNeverAborts) {
  const std::string whole =
      R"({"command":"up","outcome":"ok","started":"t","wall_ms":5,"stage_ms":{"runtime":4},)"
      R"("slowest":[{"kind":"gate","name":"agent","instance":"web","duration_ms":3,"outcome":"ok"}],)"
      R"("events":1})";
  ASSERT_TRUE(report_of(whole).ok());
  for (std::size_t cut = 0; cut < whole.size(); cut += 7) {
    const auto r = report_of(whole.substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().code(), ErrorCode::io);
  }
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"wall_ms\":5", "\"wall_ms\":\"5\""},
           {"\"runtime\":4", "\"runtime\":null"},
           {"\"duration_ms\":3", "\"duration_ms\":3.5"},
           {"\"instance\":\"web\"", "\"instance\":[]"},
           {"\"slowest\":[{", "\"slowest\":[7,{"}}) {
    std::string edited = whole;
    edited.replace(edited.find(from), from.size(), to);
    const auto r = report_of(edited);
    ASSERT_FALSE(r.ok()) << edited;
    EXPECT_EQ(r.error().code(), ErrorCode::io) << edited;
    EXPECT_NE(r.error().message().find("summary.json"), std::string::npos);
  }
}

} // namespace
} // namespace kvmrun::evidence
