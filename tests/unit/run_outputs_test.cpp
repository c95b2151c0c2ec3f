// A run read back (run_records) and written out as JUnit XML and HTML: the pure builders, and the
// reader's refusals of damaged evidence. The real run, Chromium and xmllint: e2e/report_tiny_test.
#include "base/file_io.hpp"
#include "base/printable_text.hpp"
#include "evidence/html_report.hpp"
#include "evidence/junit_report.hpp"
#include "evidence/run_records.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace kvmrun::evidence {
namespace {

using namespace std::chrono_literals;

const auto t0 = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796148000123));

RunRecords failed_run() {
  RunRecords run{"r1", "up", "failed", t0, 9000ms, {}};
  run.events = {
      {"stage", "provision", "", t0, 100ms, "ok", ""},
      {"task", "provision", "web", t0, 90ms, "ok", "2 created"},
      {"gate", "boot", "web", t0 + 200ms, 3000ms, "ok", "the kernel started"},
      {"gate", "agent", "web", t0 + 3200ms, 5000ms, "failed", "no answer <in> 5 s & \"more\""},
      {"gate", "boot", "db", t0 + 200ms, 2500ms, "ok", ""},
      {"stage", "runtime", "", t0 + 100ms, 8800ms, "failed", "while gate agent of web"},
  };
  return run;
}

TEST(Junit, OneSuitePerInstanceTheFailedGateCarriesTheErrorAndTheConsoleTheRestIsSkipped) {
  const auto xml = render_junit(
      failed_run(), JunitInput{"lab1", "host1", {"boot", "agent", "ports"}, {{"web", "login:\n"}}});
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kvmrun up\" "
                      "tests=\"8\" failures=\"2\" errors=\"0\" skipped=\"3\" time=\"9.000\" "
                      "timestamp=\"2026-12-01T18:00:00\">\n",
                      0),
            0U)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"lab1\" tests=\"2\" failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"lab1/web\" tests=\"3\" failures=\"1\" errors=\"0\" "
                     "skipped=\"1\" time=\"8.000\" timestamp=\"2026-12-01T18:00:00\" "
                     "hostname=\"host1\" id=\"1\" package=\"kvmrun.lab1\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase name=\"agent\" classname=\"kvmrun.lab1.web\" time=\"5.000\">\n"
                     "      <failure message=\"no answer &lt;in&gt; 5 s &amp; &quot;more&quot;\" "
                     "type=\"agent\">the last lines of web&apos;s serial console:\nlogin:\n"
                     "</failure>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase name=\"ports\" classname=\"kvmrun.lab1.web\" time=\"0.000\">\n"
                     "      <skipped message=\"not reached: an earlier step of web failed\"/>"),
            std::string::npos)
      << xml;
  // db never failed, but its run did: what it never reached is skipped, with no serial log kept.
  EXPECT_NE(xml.find("<skipped message=\"not reached: the run failed before this gate\"/>"),
            std::string::npos);
  EXPECT_EQ(xml.find("task"), std::string::npos) << "a task that passed is no test case";
}

TEST(Junit, ConsoleTailsAreLastLinesOfTextXmlCanCarry) {
  EXPECT_EQ(printable_tail("a\nb\nc\nd\n\n", 2), "c\nd\n");
  EXPECT_EQ(printable_tail("only", 5), "only\n");
  EXPECT_EQ(printable_tail("", 5), "");
  EXPECT_EQ(printable_tail("\x1b[1;32mgreen\x1b[0m ok\r\n", 1), "green ok\n");
  EXPECT_EQ(printable_tail(std::string("nul\0bell\a\x7f", 11), 1), "nulbell\n");
  EXPECT_EQ(printable_tail("caf\xc3\xa9 \xff\xfe bad \xe2\x82", 1),
            "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd bad \xef\xbf\xbd\xef\xbf\xbd\n");
  EXPECT_EQ(printable_tail("\xed\xa0\x80 surrogate", 1),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd surrogate\n");
  EXPECT_EQ(xml_escape("a\nb\t<'>", true), "a&#10;b&#9;&lt;&apos;&gt;");
  EXPECT_EQ(xml_escape("a\nb", false), "a\nb");
}

TEST(HtmlReport, ATimelineBarPerRecordTitledWithItsTimeAndNothingFetched) {
  const auto page = render_run_html(failed_run(), "lab1");
  EXPECT_EQ(page.rfind("<!DOCTYPE html>\n", 0), 0U);
  EXPECT_NE(page.find("<title>gate agent (web): 5.0 s, failed&#10;no answer &lt;in&gt; 5 s &amp; "
                      "&quot;more&quot;</title>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<title>task provision (web): 90 ms, ok&#10;2 created</title>"),
            std::string::npos);
  EXPECT_NE(page.find("fill=\"#c62828\""), std::string::npos);
  for (const char* outside : {"<script", "http:", "https:", "src=", "url("})
    EXPECT_EQ(page.find(outside), std::string::npos) << outside;
}

class DamagedTimings : public ::testing::Test {
protected:
  Result<RunRecords> read(const std::string& timings) {
    testing::write_file(m_dir / "summary.json",
                        R"({"command":"up","outcome":"ok","started":"2026-12-01T18:00:00.123Z",)"
                        R"("wall_ms":5,"stage_ms":{},"slowest":[],"events":1})");
    testing::write_file(m_dir / "timings.jsonl", timings);
    return read_run_records(m_dir.path());
  }
  testing::TempDir m_dir;
};

TEST_F(DamagedTimings, EveryRecordIsReadBackAndADamagedLineIsNamed) {
  const std::string line =
      R"({"kind":"gate","name":"boot","instance":"web","start":"2026-12-01T18:00:00.200Z",)"
      R"("end":"2026-12-01T18:00:01.200Z","duration_ms":1000,"outcome":"ok","detail":"d"})";
  const auto run = read(line + "\n" + line + "\n");
  ASSERT_TRUE(run.ok()) << run.error().describe();
  ASSERT_EQ(run->events.size(), 2U);
  EXPECT_EQ(run->events[1].start, t0 + 77ms);
  EXPECT_EQ(instances_of(*run), std::vector<std::string>{"web"});
  const auto torn = read(line + "\n" + line.substr(0, 40) + "\n");
  ASSERT_FALSE(torn.ok());
  EXPECT_EQ(torn.error().code(), ErrorCode::io);
  EXPECT_NE(torn.error().message().find("timings.jsonl:2"), std::string::npos)
      << torn.error().message();
  std::string edited = line;
  edited.replace(edited.find("2026-12-01T18:00:00.200Z"), 24, "yesterday");
  const auto bad_time = read(edited + "\n");
  ASSERT_FALSE(bad_time.ok());
  EXPECT_NE(bad_time.error().message().find(
                "timings.jsonl:1: field \"start\" is not a time: 'yesterday'"),
            std::string::npos)
      << bad_time.error().message();
  edited = line;
  edited.replace(edited.find("\"duration_ms\":1000"), 18, "\"duration_ms\":9000000000000000");
  const auto huge = read(edited + "\n");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message().find("field \"duration_ms\" is not a duration"),
            std::string::npos)
      << huge.error().message();
}

} // namespace
} // namespace kvmrun::evidence
