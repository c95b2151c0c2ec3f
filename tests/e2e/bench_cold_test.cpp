// `kvmrun bench cold` with the tiny guest under TCG: two cold runs that remove the declared
// instance's state before each run and nothing else (another directory in the lab's state, the
// image cache), artefacts that `report` reads, and the refusals (a running instance, bad
// arguments).
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <iostream>

namespace kvmrun::testing {
namespace {

std::string bench_lab() {
  return "[lab]\nname = \"cold\"\n" + tiny_image_section() + R"([instances.tiny-1]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s" }
[instances.tiny-1.cloud_init]
package_update = true
)";
}

std::filesystem::path artefacts_of(const std::string& out) {
  const std::string key = "artefacts: ";
  const auto at = out.find(key);
  if (at == std::string::npos)
    return {};
  const auto from = at + key.size();
  return out.substr(from, out.find(' ', from) - from);
}

TEST(BenchCold, TwoRunsFromNothingWithArtefactsThatReportReads) {
  Lab lab(bench_lab());
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const auto busy = lab.run({"bench", "cold", "--runs", "1"});
  EXPECT_EQ(busy.exit_code, 12) << busy.out << busy.err;
  EXPECT_NE(busy.err.find("instance 'tiny-1' is running"), std::string::npos) << busy.err;
  EXPECT_NE(busy.err.find("kvmrun down tiny-1"), std::string::npos) << busy.err;
  ASSERT_EQ(lab.run({"down"}).exit_code, 0);

  const auto mine = lab.state() / "cold" / "tiny-1" / "left-by-me";
  const auto other = lab.state() / "cold" / "not-declared" / "keep";
  write_file(mine, "x");
  write_file(other, "y");
  std::vector<std::filesystem::path> cached;
  for (const auto& e : std::filesystem::recursive_directory_iterator(lab.state() / ".." / "cache"))
    if (e.is_regular_file())
      cached.push_back(e.path());
  ASSERT_FALSE(cached.empty());

  const auto bench = lab.run({"bench", "cold", "--runs", "2"});
  std::cout << bench.out;
  ASSERT_EQ(bench.exit_code, 0) << bench.out << bench.err;
  EXPECT_NE(bench.out.find("apt update/upgrade: off in every run, for comparability; the lab "
                           "turns them on for tiny-1"),
            std::string::npos)
      << bench.out;
  EXPECT_NE(bench.out.find("run 1/2: up "), std::string::npos);
  EXPECT_NE(bench.out.find("run 2/2: up "), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(mine)) << "the declared instance starts from nothing";
  EXPECT_TRUE(std::filesystem::exists(other)) << "an undeclared directory is never touched";
  for (const auto& f : cached)
    EXPECT_TRUE(std::filesystem::exists(f)) << f << ": the image cache stays";
  EXPECT_EQ(lab.run({"status"}).out.find("running"), std::string::npos) << "down after each run";

  const auto dir = artefacts_of(bench.out);
  ASSERT_FALSE(dir.empty()) << bench.out;
  EXPECT_EQ(dir.parent_path(), lab.state() / "cold" / "bench");
  for (const char* run : {"run-1", "run-2"})
    for (const char* file : {"timings.jsonl", "timings.csv", "up.log", "down.log"})
      EXPECT_TRUE(std::filesystem::exists(dir / run / file)) << run << "/" << file;
  const auto up_log = read_file(dir / "run-2" / "up.log");
  ASSERT_TRUE(up_log.ok());
  EXPECT_NE(up_log->find("ready: tiny-1"), std::string::npos) << *up_log;
  // The seed the guest got has apt off although the lab turns it on (user-data is stored
  // uncompressed in the ISO; kvmrun writes package_update only when it is true).
  const auto seed = read_file(lab.state() / "cold" / "tiny-1" / "seed.iso");
  ASSERT_TRUE(seed.ok());
  EXPECT_NE(seed->find("#cloud-config"), std::string::npos);
  EXPECT_EQ(seed->find("package_update"), std::string::npos);
  const auto time = read_file(dir / "time.txt");
  ASSERT_TRUE(time.ok());
  EXPECT_NE(time->find("2 of 2 run(s) ok"), std::string::npos) << *time;
  EXPECT_NE(time->find("\nmedian "), std::string::npos) << *time;

  const auto summary = read_file(dir / "summary.json");
  ASSERT_TRUE(summary.ok());
  const auto doc = boost::json::parse(*summary).as_object();
  EXPECT_EQ(doc.at("ok").as_int64(), 2);
  const auto& up_ms = doc.at("up_ms").as_object();
  EXPECT_LE(up_ms.at("min").as_int64(), up_ms.at("median").as_int64());
  EXPECT_LE(up_ms.at("median").as_int64(), up_ms.at("max").as_int64());
  EXPECT_GT(up_ms.at("min").as_int64(), 1000) << "a TCG boot";
  EXPECT_GT(doc.at("kvmrun_peak_rss_kib").at("min").as_int64(), 1000);
  EXPECT_LT(doc.at("kvmrun_peak_rss_kib").at("max").as_int64(), 64 * 1024);
  EXPECT_GT(doc.at("qemu_cpu_ms").at("min").as_int64(), 100);
  for (const char* gate : {"qemu", "boot", "agent", "addresses", "cloud-init", "provenance"})
    EXPECT_TRUE(doc.at("gate_ms").as_object().contains(gate)) << gate;
  EXPECT_LE(doc.at("ready_ms").at("tiny-1").at("max").as_int64(), up_ms.at("max").as_int64());

  const auto report = lab.run({"report", dir.string()});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("bench cold, lab cold: 2 of 2 run(s) ok"), std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("ready, from the start of up:\n  tiny-1 "), std::string::npos)
      << report.out;
  // The page shows each spread; a bench has no single run's gates for JUnit.
  const auto page = lab.state() / "bench.html";
  ASSERT_EQ(lab.run({"report", dir.string(), "--html", page.string()}).exit_code, 0);
  const auto html = read_file(page);
  ASSERT_TRUE(html.ok());
  EXPECT_NE(html->find("<h2>Gates (every instance)</h2>"), std::string::npos);
  EXPECT_NE(html->find("<title>agent: median "), std::string::npos) << *html;
  EXPECT_NE(html->find("<title>tiny-1: median "), std::string::npos) << *html;
  const auto junit = lab.run({"report", dir.string(), "--junit", page.string() + ".xml"});
  EXPECT_EQ(junit.exit_code, 3) << junit.err;
  EXPECT_NE(junit.err.find("is a `bench cold` directory, which has no single run's gates"),
            std::string::npos)
      << junit.err;
}

TEST(BenchCold, AFailedRunEndsTheBenchWithUpsErrorAndKeepsWhatItMeasured) {
  std::string lab_text = bench_lab();
  lab_text.replace(lab_text.find("shutdown = \"3s\""), 16, "shutdown = \"3s\", boot = \"1s\"");
  Lab lab(lab_text);
  // With --json: the runs' records on stdout, what people read on stderr.
  const auto bench = lab.run({"bench", "cold", "--runs", "3", "--json"});
  EXPECT_EQ(bench.exit_code, 8) << bench.out << bench.err; // the boot gate's timeout
  EXPECT_NE(bench.err.find("run 1/3: up FAILED"), std::string::npos) << bench.err;
  EXPECT_EQ(bench.err.find("run 2/3"), std::string::npos) << bench.err;
  EXPECT_NE(bench.err.find("run 1/3 failed: `up` exited with 8. Remedy: see "), std::string::npos)
      << bench.err;
  const auto dir = artefacts_of(bench.err);
  std::vector<boost::json::object> lines;
  std::size_t from = 0;
  for (auto nl = bench.out.find('\n'); nl != std::string::npos; nl = bench.out.find('\n', from)) {
    lines.push_back(boost::json::parse(bench.out.substr(from, nl - from)).as_object());
    from = nl + 1;
  }
  ASSERT_GE(lines.size(), 4U) << bench.out;
  const auto record = [&](const std::string& kind, const std::string& name) {
    for (const auto& o : lines)
      if (o.at("event").as_string() == "end" && o.at("record").at("kind").as_string() == kind &&
          o.at("record").at("name").as_string() == name)
        return o.at("record").as_object();
    ADD_FAILURE() << "no " << kind << " " << name << " in\n" << bench.out;
    return boost::json::object();
  };
  EXPECT_EQ(record("gate", "boot")["outcome"], "failed");
  // up stops the instance that did not become ready: QEMU exited, and how.
  EXPECT_EQ(record("task", "spawn qemu")["outcome"], "ok");
  EXPECT_EQ(record("task", "stop qemu")["outcome"], "ok");
  EXPECT_EQ(record("run", "run 1")["outcome"], "failed");
  EXPECT_EQ(lines.back(), boost::json::parse(R"({"schema":"kvmrun.events/1","event":"result",)"
                                             R"("outcome":"failed","exit_code":8,"evidence":")" +
                                             dir.string() + "\"}"));
  const auto up_log = read_file(dir / "run-1" / "up.log");
  ASSERT_TRUE(up_log.ok());
  EXPECT_NE(up_log->find("gate boot of instance tiny-1"), std::string::npos) << *up_log;
  const auto report = lab.run({"report", dir.string()});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("0 of 3 run(s) ok"), std::string::npos) << report.out;
  EXPECT_EQ(lab.run({"status"}).out.find("running"), std::string::npos);
}

TEST(BenchCold, BadArgumentsAreUsageErrorsThatChangeNothing) {
  Lab lab(bench_lab());
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"bench"},
                                             {"bench", "warm"},
                                             {"bench", "cold", "--runs", "0"},
                                             {"bench", "cold", "--runs", "two"},
                                             {"bench", "cold", "--purge-disks"}}) {
    const auto r = lab.run(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("Remedy"), std::string::npos) << r.err;
  }
  const auto unknown = lab.run({"bench", "cold", "nope"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "cold" / "bench"));
}

} // namespace
} // namespace kvmrun::testing
