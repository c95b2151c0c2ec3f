// Disk full, on a real file system: a tmpfs of a few KiB mounted on a lab's state directory
// (overlay, seed, evidence and state all live there; preflight refuses it first, then the
// provision stage runs past preflight as a disk that filled later would), and a small one on
// the templates directory while a template is saved. Each time: one error line naming "No space
// left" with a remedy and the documented exit code, no QEMU left, the cached base unchanged, the
// state still readable (`status` answers), nothing half-written kept (the next `up` with room works
// on what is there, `qemu-img check` clean), and for the template a running instance that runs
// on and no template listed. Needs root (mount); skipped visibly otherwise.
// Levels proven: PROC, DATA, META (state readable, nothing torn kept), CACHE, DIAG.
#include "tests/e2e/lab_harness.hpp"

#include <iostream>
#include <set>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::size_t error_lines(const std::string& err) {
  std::size_t n = 0;
  for (std::size_t at = err.find("kvmrun: error:"); at != std::string::npos;
       at = err.find("kvmrun: error:", at + 1))
    ++n;
  return n;
}

void expect_disk_full(const CommandOutput& r, const std::string& what) {
  EXPECT_TRUE(r.exit_code == 6 || r.exit_code == 10) << what << ": exit " << r.exit_code << "\n"
                                                     << r.out << r.err;
  EXPECT_EQ(error_lines(r.err), 1U) << what << ":\n" << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << what << ":\n" << r.err;
  EXPECT_NE(r.err.find("Remedy:"), std::string::npos) << what << ":\n" << r.err;
}

// Files a write left half-done (write_file_atomic's temporaries), anywhere under `dir`.
std::vector<std::string> temporaries(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos)
      found.push_back(e.path().string());
  return found;
}

TEST(TinyDiskFull, AFullStateDirectoryFailsUpCleanlyAndTheNextUpWithRoomWorks) {
  Lab lab(one_tiny_lab("full"));
  TmpfsMount state(4 * 1024, lab.state());
  if (!state.mounted())
    GTEST_SKIP() << "cannot mount a small tmpfs: " << state.why();
  // The base enters the cache (not on the tmpfs) first: its digest is the baseline.
  ASSERT_EQ(lab.run({"image", "fetch"}).exit_code, 0);
  const auto cache_before = digests_of(lab.cache() / "images");

  // Preflight is the first line: a state directory with less than 1 GiB free is refused.
  const auto refused = lab.run({"up"}, 5min);
  EXPECT_EQ(refused.exit_code, 4) << refused.out << refused.err;
  EXPECT_NE((refused.out + refused.err).find("fail  space-state"), std::string::npos)
      << refused.out << refused.err;
  EXPECT_TRUE(qemus_of("full").empty());

  // Past it (the disk fills after preflight looked), provisioning runs out at each size at a
  // different write: the seed, the overlay, the evidence. Growing only (a tmpfs does not shrink
  // below what it holds), each attempt on what the ones before left.
  std::set<std::string> failures;
  for (const std::size_t kib : {4U, 8U, 16U, 24U, 32U, 48U, 64U, 96U, 128U, 192U}) {
    SCOPED_TRACE("state tmpfs of " + std::to_string(kib) + " KiB");
    ASSERT_TRUE(state.resize(kib * 1024));
    const auto up = lab.run({"up", "--stage", "provision"}, 5min);
    // The file whose write ran out, as the error line names it.
    const auto line = up.err.substr(std::min(up.err.find("kvmrun: error:"), up.err.size()));
    std::string step;
    for (const char* file : {"id_ed25519", "disk.qcow2", "seed.iso", "provenance.json", "argv.json",
                             "timings", "summary.json", "junit.xml"})
      if (step.empty() && line.find(file) != std::string::npos)
        step = file;
    std::cout << "[ disk full ] " << kib << " KiB: exit " << up.exit_code << " " << step << "\n";
    if (up.exit_code != 0) {
      expect_disk_full(up, "up --stage provision");
      failures.insert(step);
    }
    EXPECT_EQ(temporaries(lab.state()), std::vector<std::string>{}) << "a torn write was left";
    EXPECT_TRUE(qemus_of("full").empty()) << "a QEMU was left";
    const auto status = lab.run({"status"});
    EXPECT_LT(status.exit_code, 70) << status.err;
  }
  EXPECT_GE(failures.size(), 2U) << "the state ran out at fewer steps than expected";
  EXPECT_EQ(digests_of(lab.cache() / "images"), cache_before) << "the cache changed";

  // With room again, up works on whatever the full attempts left (nothing torn is reused).
  ASSERT_TRUE(state.resize(std::size_t{2} << 30U));
  const auto up = lab.run({"up"}, 5min);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_TRUE(qemu_img_clean(lab.state() / "full" / "tiny-1" / "disk.qcow2"));
  EXPECT_TRUE(qemus_of("full").empty());
  EXPECT_EQ(digests_of(lab.cache() / "images"), cache_before);
}

TEST(TinyDiskFull, AFullTemplatesDirectoryFailsTheSaveAndTheInstanceRunsOn) {
  Lab lab(one_tiny_lab("tfull"));
  TmpfsMount templates(4U << 20U, lab.cache() / "templates");
  if (!templates.mounted())
    GTEST_SKIP() << "cannot mount a small tmpfs: " << templates.why();
  const auto up = lab.run({"up"}, 5min);
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const pid_t qemu = pid_from(up.out, "tiny-1");

  const auto save = lab.run({"template", "save", "tiny-1", "ready", "--resume"}, 5min);
  expect_disk_full(save, "template save");
  EXPECT_NE(save.err.find("the instance runs on as before"), std::string::npos) << save.err;
  EXPECT_TRUE(alive(qemu));
  const auto check = lab.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << "the instance is running and ready";
  const auto list = lab.run({"template", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find("ready"), std::string::npos) << list.out;
  std::error_code ec;
  EXPECT_EQ(std::filesystem::directory_iterator(templates.path(), ec),
            std::filesystem::directory_iterator())
      << "a partial template was left";

  // With room, the same save works.
  ASSERT_TRUE(templates.resize(512U << 20U));
  const auto again = lab.run({"template", "save", "tiny-1", "ready", "--resume"}, 5min);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_TRUE(qemus_of("tfull").empty());
  EXPECT_TRUE(qemu_img_clean(lab.state() / "tfull" / "tiny-1" / "disk.qcow2"));
}

} // namespace
} // namespace kvmrun::testing
