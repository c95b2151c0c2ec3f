// Prometheus exposition (pure) and reading a run's evidence back for the last-run series.
#include "metrics/collect.hpp"
#include "metrics/exposition.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace kvmrun::metrics {
namespace {

TEST(MetricsExposition, WritesHelpTypeAndSamplesAndLeavesEmptyFamiliesOut) {
  const std::vector<Family> families{
      {"kvmrun_instance_up",
       "1 when it runs",
       Type::gauge,
       {{{{"lab", "l"}, {"instance", "a"}}, 1}}},
      {"kvmrun_nothing", "no samples", Type::gauge, {}},
      {"kvmrun_disk_read_bytes_total",
       "bytes read",
       Type::counter,
       {{{{"disk", "root"}}, 1234567890123}, {{{"disk", "data"}}, 0.25}}},
  };
  EXPECT_EQ(render(families), "# HELP kvmrun_instance_up 1 when it runs\n"
                              "# TYPE kvmrun_instance_up gauge\n"
                              "kvmrun_instance_up{lab=\"l\",instance=\"a\"} 1\n"
                              "# HELP kvmrun_disk_read_bytes_total bytes read\n"
                              "# TYPE kvmrun_disk_read_bytes_total counter\n"
                              "kvmrun_disk_read_bytes_total{disk=\"root\"} 1234567890123\n"
                              "kvmrun_disk_read_bytes_total{disk=\"data\"} 0.25\n");
}

TEST(MetricsExposition, EscapesLabelValuesAndHelpAsTheFormatSays) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  const std::vector<Family> f{{"m", "line one\nback\\slash", Type::gauge, {{{}, -1.5}}}};
  EXPECT_EQ(render(f), "# HELP m line one\\nback\\\\slash\n# TYPE m gauge\nm -1.5\n");
  // Numbers as short as they read back exactly.
  const std::vector<Family> g{{"n", "h", Type::gauge, {{{}, 0.006}, {{}, 0.1 + 0.2}, {{}, 1e20}}}};
  EXPECT_EQ(render(g), "# HELP n h\n# TYPE n gauge\nn 0.006\nn 0.30000000000000004\nn 1e+20\n");
}

TEST(MetricsRun, ReadsStagesGatesAndReadyTimesFromTheEvidence) {
  const testing::TempDir dir;
  testing::write_file(dir / "summary.json",
                      R"({"command":"up","outcome":"ok","started":"2026-12-01T18:00:00.000Z",)"
                      R"("wall_ms":5300,"stage_ms":{"preflight":10,"runtime":5200},"slowest":[]})");
  testing::write_file(
      dir / "timings.jsonl",
      R"({"kind":"stage","name":"preflight","instance":"","start":"2026-12-01T18:00:00.000Z","end":"2026-12-01T18:00:00.010Z","duration_ms":10,"outcome":"ok","detail":""})"
      "\n"
      R"({"kind":"stage","name":"runtime","instance":"","start":"2026-12-01T18:00:00.100Z","end":"2026-12-01T18:00:05.300Z","duration_ms":5200,"outcome":"ok","detail":""})"
      "\n"
      R"({"kind":"gate","name":"boot","instance":"a","start":"2026-12-01T18:00:00.200Z","end":"2026-12-01T18:00:03.000Z","duration_ms":2800,"outcome":"ok","detail":""})"
      "\n"
      R"({"kind":"gate","name":"agent","instance":"a","start":"2026-12-01T18:00:03.000Z","end":"2026-12-01T18:00:05.250Z","duration_ms":2250,"outcome":"ok","detail":""})"
      "\n");
  auto run = read_run(dir.path());
  ASSERT_TRUE(run.ok()) << run.error().describe();
  EXPECT_TRUE(run->ok);
  ASSERT_EQ(run->gates.size(), 2U);
  EXPECT_EQ(std::get<1>(run->gates[1]), "agent");
  EXPECT_DOUBLE_EQ(std::get<2>(run->gates[1]), 2.25);
  ASSERT_EQ(run->ready.size(), 1U);
  EXPECT_NEAR(run->ready[0].second, 5.25, 1e-6);
  EXPECT_NEAR(run->finished_at - 1796148000.0, 5.3, 1e-3);
  ASSERT_EQ(run->stages.size(), 2U);
  EXPECT_EQ(run->stages[0], (std::pair<std::string, double>("preflight", 0.01)));

  // A torn line is an error naming the file and the line, never an abort.
  testing::write_file(dir / "timings.jsonl", "{\"kind\":\"gate\",\"na\n");
  run = read_run(dir.path());
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().describe().find("timings.jsonl:1"), std::string::npos)
      << run.error().describe();
}

} // namespace
} // namespace kvmrun::metrics
