// Seed ISOs read back by the real tools: isoinfo (genisoimage) and xorriso.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "seeds/iso9660.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace kvmrun::seeds {
namespace {

std::filesystem::path write_iso(const testing::TempDir& dir, const std::vector<IsoFile>& files) {
  auto image = build_iso9660(files, {});
  EXPECT_TRUE(image.ok()) << image.error().describe();
  const auto path = dir / "seed.iso";
  EXPECT_TRUE(write_file_atomic(path, image.ok() ? *image : "").ok());
  return path;
}

std::string run_ok(const std::vector<std::string>& argv) {
  const auto r = run_command(argv, CommandOptions{std::chrono::milliseconds(30000), 16U << 20U});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
  if (!r.ok())
    return {};
  EXPECT_TRUE(r->success()) << argv.front() << ": " << r->err;
  return r->out;
}

// GTEST_SKIP leaves only the function it is written in, so the skip stands in each test body.
#define KVMRUN_REQUIRE_TOOL(tool)                                                                  \
  if (!find_executable(tool))                                                                      \
  GTEST_SKIP() << (tool) << " is not installed (scripts/setup-deps installs it)"

std::vector<IsoFile> nocloud() {
  return {{"user-data", "#cloud-config\nruncmd:\n- [touch, /x]\n"},
          {"meta-data", "instance-id: i-42\nlocal-hostname: web-1\n"},
          {"network-config", "version: 2\nethernets: {}\n"},
          {"vendor-data", ""}};
}

// Extracts every file with xorriso and compares names and bytes with what went in.
void expect_xorriso_extracts(const testing::TempDir& dir, const std::filesystem::path& iso,
                             const std::vector<IsoFile>& files) {
  const auto out = dir / "extracted";
  run_ok({"xorriso", "-osirrox", "on", "-indev", iso.string(), "-extract", "/", out.string()});
  std::size_t found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    ++found;
    const auto it = std::find_if(files.begin(), files.end(), [&](const IsoFile& f) {
      return f.name == entry.path().filename().string();
    });
    ASSERT_NE(it, files.end()) << "unexpected file " << entry.path();
    const auto content = read_file(entry.path());
    ASSERT_TRUE(content.ok());
    EXPECT_EQ(*content, it->content) << it->name;
  }
  EXPECT_EQ(found, files.size());
}

TEST(IsoTools, IsoinfoSeesVolumeCidataWithJoliet) {
  KVMRUN_REQUIRE_TOOL("isoinfo");
  testing::TempDir dir;
  const auto out = run_ok({"isoinfo", "-d", "-i", write_iso(dir, nocloud()).string()});
  EXPECT_NE(out.find("Volume id: cidata"), std::string::npos) << out;
  EXPECT_NE(out.find("Joliet with UCS level 3 found"), std::string::npos) << out;
  EXPECT_NE(out.find("Logical block size is: 2048"), std::string::npos) << out;
}

TEST(IsoTools, IsoinfoListsTheExactLowerCaseJolietNames) {
  KVMRUN_REQUIRE_TOOL("isoinfo");
  testing::TempDir dir;
  const auto out = run_ok({"isoinfo", "-J", "-f", "-i", write_iso(dir, nocloud()).string()});
  std::istringstream lines(out);
  std::vector<std::string> names;
  for (std::string line; std::getline(lines, line);)
    names.push_back(line);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"/meta-data", "/network-config", "/user-data",
                                             "/vendor-data"}));
}

TEST(IsoTools, IsoinfoReadsEachFileBackByteForByte) {
  KVMRUN_REQUIRE_TOOL("isoinfo");
  testing::TempDir dir;
  const auto files = nocloud();
  const auto iso = write_iso(dir, files);
  for (const auto& f : files)
    EXPECT_EQ(run_ok({"isoinfo", "-J", "-i", iso.string(), "-x", "/" + f.name}), f.content)
        << f.name;
}

TEST(IsoTools, XorrisoFindsAndExtractsEveryFile) {
  KVMRUN_REQUIRE_TOOL("xorriso");
  testing::TempDir dir;
  const auto files = nocloud();
  const auto iso = write_iso(dir, files);
  const auto found = run_ok({"xorriso", "-indev", iso.string(), "-find", "/", "-type", "f"});
  for (const auto& f : files)
    EXPECT_NE(found.find("'/" + f.name + "'"), std::string::npos) << found;
  expect_xorriso_extracts(dir, iso, files);
}

TEST(IsoTools, MultiMegabyteUserDataAndNonAsciiNamesSurvive) {
  KVMRUN_REQUIRE_TOOL("xorriso");
  testing::TempDir dir;
  std::string big;
  for (int i = 0; big.size() < (4U << 20U) + 123; ++i)
    big += "echo line " + std::to_string(i) + "\n";
  const std::vector<IsoFile> files{{"user-data", big}, {"caf\xc3\xa9-notes", "\xe2\x82\xac 5\n"}};
  expect_xorriso_extracts(dir, write_iso(dir, files), files);
}

TEST(IsoTools, ADirectorySpanningSeveralSectorsIsReadCompletely) {
  KVMRUN_REQUIRE_TOOL("xorriso");
  testing::TempDir dir;
  std::vector<IsoFile> files;
  for (int i = 0; i < 150; ++i)
    files.push_back({"file-with-a-fairly-long-name-" + std::to_string(i), std::to_string(i * i)});
  expect_xorriso_extracts(dir, write_iso(dir, files), files);
}

// The suite's own binary, run with a PATH that holds neither isoinfo nor xorriso: every test
// above is reported skipped, none failed or passed.
TEST(IsoToolsSkip, AMissingToolSkipsTheTestsThatNeedItInsteadOfFailingThem) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto r =
      run_command({"/usr/bin/env", "PATH=/nonexistent", self.string(), "--gtest_filter=IsoTools.*"},
                  CommandOptions{std::chrono::milliseconds(30000), 1U << 20U});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->success()) << r->out;
  EXPECT_NE(r->out.find("[  SKIPPED ] 6 tests"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("[  PASSED  ] 0 tests"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("FAILED"), std::string::npos) << r->out;
}

} // namespace
} // namespace kvmrun::seeds
