// A bounded soak: two tiny instances brought up together (one `up`, gates in parallel) and down
// again, cycle after cycle, for KVMRUN_SOAK_SECONDS (120 by default; set it higher for a long
// soak), with a fault in three cycles of four: kvmrun killed while the gates wait (the next `up`
// restarts the half-started instances), one QEMU killed while it runs (the next `up` starts it
// again and re-proves the other), `down` racing `up`. Every command's exit code is checked; after
// the last cycle, the census: no QEMU of the lab left, its runtime directory empty, no temporary
// or partial file in its state, this process's descriptors as before, each overlay
// `qemu-img check` clean, the cached base byte-identical, the lab's state no bigger than after
// the first cycle plus its disks' growth bound. The counts are printed for the record.
// Levels proven: PROC, DATA, META, CACHE, DIAG.
#include "tests/e2e/lab_harness.hpp"

#include <dirent.h>

#include <iostream>
#include <map>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

std::uintmax_t tree_bytes(const std::filesystem::path& dir) {
  std::uintmax_t sum = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec))
      sum += e.file_size(ec);
  return sum;
}

TEST(TinySoak, UpAndDownOverAndOverWithFaultsLeaksNothing) {
  const char* env = std::getenv("KVMRUN_SOAK_SECONDS");
  const auto budget = std::chrono::seconds(env != nullptr ? std::atoi(env) : 120);
  std::string toml = "[lab]\nname = \"soak\"\n" + tiny_image_section();
  for (const char* name : {"tiny-1", "tiny-2"})
    toml += std::string("[instances.") + name +
            "]\nimage = \"tiny\"\ncpus = 1\nmemory = \"256MiB\"\n"
            "disks = [{ name = \"data\", size = \"64MiB\", mount = \"/srv/data\" }]\n"
            "timeouts = { shutdown = \"3s\" }\n";
  Lab lab(toml);
  const auto fds_before = open_descriptors();
  std::map<std::string, int> counts;
  const auto run_ok = [&](const std::vector<std::string>& args, const std::string& what) {
    const auto r = lab.run(args);
    ++counts[args.front() + "s"];
    EXPECT_EQ(r.exit_code, 0) << what << ": kvmrun " << args.front() << "\n" << r.out << r.err;
    return r;
  };
  const auto write_data = [&](int cycle) {
    for (const char* name : {"tiny-1", "tiny-2"})
      EXPECT_EQ(in_guest(lab, name,
                         "echo " + std::to_string(cycle) +
                             " >> /srv/data/cycles && sync && "
                             "tail -n1 /srv/data/cycles"),
                std::to_string(cycle) + "\n");
  };

  std::string cache_digests;
  std::uintmax_t state_after_first = 0;
  const auto started = std::chrono::steady_clock::now();
  int cycle = 0;
  for (; cycle == 0 || std::chrono::steady_clock::now() - started < budget; ++cycle) {
    const std::string what = "cycle " + std::to_string(cycle);
    switch (cycle % 4) {
    case 0: // plain
      run_ok({"up"}, what);
      write_data(cycle);
      run_ok({"down"}, what);
      break;
    case 1: { // kvmrun killed while the gates wait
      {
        BackgroundProcess up(lab.argv({"up"}));
        ASSERT_TRUE(up.wait_for_line("  tiny-2: QEMU pid ", 120s)) << what;
        ::kill(up.pid(), SIGKILL);
        ASSERT_TRUE(up.wait_exit(10s));
      }
      ++counts["kvmrun kills"];
      const auto again = run_ok({"up"}, what);
      EXPECT_NE(again.out.find("was started by a kvmrun that is gone before its gates passed"),
                std::string::npos)
          << again.out;
      write_data(cycle);
      run_ok({"down"}, what);
      break;
    }
    case 2: { // a QEMU killed while it runs
      const auto up = run_ok({"up"}, what);
      const pid_t victim = pid_from(up.out, "tiny-1");
      ASSERT_GT(victim, 0) << up.out;
      ::kill(victim, SIGKILL);
      for (int i = 0; i < 100 && alive(victim); ++i)
        std::this_thread::sleep_for(50ms);
      ++counts["QEMU kills"];
      const auto again = run_ok({"up"}, what);
      EXPECT_NE(again.out.find("tiny-2: already running; its gates are re-proven"),
                std::string::npos)
          << again.out;
      EXPECT_NE(again.out.find("tiny-1: QEMU pid "), std::string::npos) << again.out;
      write_data(cycle);
      run_ok({"down"}, what);
      break;
    }
    case 3: { // down racing up
      {
        BackgroundProcess up(lab.argv({"up"}));
        ASSERT_TRUE(up.wait_for_line("  tiny-1: QEMU pid ", 120s)) << what;
        run_ok({"down"}, what);
        const auto status = up.wait_exit(60s);
        ASSERT_TRUE(status) << what << ": up kept waiting on QEMUs that were stopped";
      }
      ++counts["downs racing up"];
      run_ok({"up"}, what);
      write_data(cycle);
      run_ok({"down"}, what);
      break;
    }
    }
    EXPECT_TRUE(qemus_of("soak").empty()) << what << ": a QEMU outlived down";
    if (cycle == 0) {
      cache_digests = digests_of(lab.cache());
      state_after_first = tree_bytes(lab.state() / "soak");
    }
    if (::testing::Test::HasFatalFailure() || ::testing::Test::HasFailure())
      break;
  }

  // The census.
  EXPECT_TRUE(qemus_of("soak").empty());
  std::error_code ec;
  std::size_t left = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(lab.runtime(), ec)) {
    ADD_FAILURE() << "left in the runtime directory: " << e.path();
    ++left;
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(lab.state(), ec)) {
    const auto name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << e.path();
    EXPECT_EQ(name.find(".partial"), std::string::npos) << e.path();
  }
  EXPECT_EQ(open_descriptors(), fds_before) << "descriptors leaked in the test process";
  for (const char* name : {"tiny-1", "tiny-2"})
    for (const char* disk : {"disk.qcow2", "disk-data.qcow2"}) {
      const auto check =
          run_command({"qemu-img", "check", "-q", (lab.state() / "soak" / name / disk).string()},
                      CommandOptions{std::chrono::minutes(1), 1U << 20U});
      EXPECT_TRUE(check && check->success())
          << name << "/" << disk << ": " << (check ? check->out + check->err : "");
    }
  EXPECT_EQ(digests_of(lab.cache()), cache_digests) << "the cache changed";
  // Runs and logs grow a little each cycle; disks stay within the bytes the guests wrote.
  const auto state_now = tree_bytes(lab.state() / "soak");
  EXPECT_LT(state_now, state_after_first + (64U << 20U))
      << state_now << " vs " << state_after_first;

  std::cout << "soak: " << cycle << " cycles in "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                started)
                   .count()
            << " s with 2 tiny instances;";
  for (const auto& [what, n] : counts)
    std::cout << " " << n << " " << what << ";";
  std::cout << " left behind: " << left << " runtime files, " << qemus_of("soak").size()
            << " QEMUs; state " << state_after_first << " -> " << state_now << " bytes\n";
}

} // namespace
} // namespace kvmrun::testing
