// `kvmrun image fetch|list|verify|prune` through the real binary, with its cache and state
// directories in a temporary tree and a local file as the image source.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "images/qcow2.hpp"
#include "tests/support/kvmrun_binary.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <sys/stat.h>

namespace kvmrun {
namespace {

class ImageCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string base(1 << 20, '\0');
    base.replace(0, 5, "hello");
    ASSERT_TRUE(write_file_atomic(dir / "base.raw", base, 0644).ok());
    digest = sha256_hex(base);
    lab("base.raw", digest);
  }

  void lab(const std::string& file, const std::string& sha256) {
    ASSERT_TRUE(write_file_atomic(dir / "lab.toml",
                                  "[images.tiny]\nurl = \"" + (dir / file).string() +
                                      "\"\nchecksum = \"sha256:" + sha256 +
                                      "\"\nformat = \"raw\"\n[instances.a]\nimage = \"tiny\"\n")
                    .ok());
  }

  CommandOutput kvmrun_cli(const std::vector<std::string>& args) {
    return testing::run_kvmrun(args, {"KVMRUN_CACHE_DIR=" + (dir / "cache").string(),
                                      "KVMRUN_STATE_DIR=" + (dir / "state").string()});
  }

  testing::TempDir dir;
  std::string digest;
};

TEST_F(ImageCommandTest, FetchThenListThenVerify) {
  const std::string config = (dir / "lab.toml").string();
  const auto fetched = kvmrun_cli({"image", "fetch", "--config", config});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_NE(fetched.out.find("tiny: downloaded, sha256:"), std::string::npos) << fetched.out;
  EXPECT_NE(kvmrun_cli({"image", "fetch", "--config", config}).out.find("tiny: cached"),
            std::string::npos);
  const auto listed = kvmrun_cli({"image", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0);
  const auto images = boost::json::parse(listed.out).at("images").as_array();
  ASSERT_EQ(images.size(), 1U);
  EXPECT_EQ(images[0].at("digest").as_string(), "sha256:" + digest);
  const auto verified = kvmrun_cli({"image", "verify"});
  EXPECT_EQ(verified.exit_code, 0);
  EXPECT_NE(verified.out.find("ok    tiny"), std::string::npos);

  const std::filesystem::path file(std::string(images[0].at("file").as_string()));
  ::chmod(file.c_str(), 0644);
  ASSERT_TRUE(write_file_atomic(file, "tampered", 0444).ok());
  const auto bad = kvmrun_cli({"image", "verify", "tiny"});
  EXPECT_EQ(bad.exit_code, 5);
  EXPECT_NE(bad.out.find("BAD   tiny"), std::string::npos);
}

TEST_F(ImageCommandTest, AChecksumMismatchExitsWithTheImageCodeAndCachesNothing) {
  lab("base.raw", std::string(64, 'a'));
  const auto r = kvmrun_cli({"image", "fetch", "--config", (dir / "lab.toml").string()});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("checksum mismatch for image tiny"), std::string::npos) << r.err;
  EXPECT_NE(kvmrun_cli({"image", "list"}).out.find("no cached images"), std::string::npos);
}

TEST_F(ImageCommandTest, PruneNeverRemovesABaseAnInstanceDiskStillUses) {
  const std::string config = (dir / "lab.toml").string();
  ASSERT_EQ(kvmrun_cli({"image", "fetch", "--config", config}).exit_code, 0);
  const auto listed = boost::json::parse(kvmrun_cli({"image", "list", "--json"}).out);
  const std::string base_file(listed.at("images").at(0).at("file").as_string());
  std::filesystem::create_directories(dir / "state" / "labs" / "lab" / "a");
  ASSERT_TRUE(images::create_qcow2(dir / "state" / "labs" / "lab" / "a" / "root.qcow2",
                                   images::Qcow2Spec{1 << 20, 16, base_file, DiskFormat::raw})
                  .ok());
  const auto kept = kvmrun_cli({"image", "prune", "--all"});
  EXPECT_EQ(kept.exit_code, 0);
  EXPECT_NE(kept.out.find("kept (in use) tiny"), std::string::npos) << kept.out;
  EXPECT_TRUE(std::filesystem::exists(base_file));

  std::filesystem::remove_all(dir / "state");
  const auto dry = kvmrun_cli({"image", "prune", "--all", "--dry-run"});
  EXPECT_NE(dry.out.find("would remove tiny"), std::string::npos) << dry.out;
  EXPECT_TRUE(std::filesystem::exists(base_file));
  EXPECT_NE(kvmrun_cli({"image", "prune", "--all"}).out.find("removed tiny"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(base_file));
}

TEST_F(ImageCommandTest, BadSubcommandsAreUsageErrors) {
  EXPECT_EQ(kvmrun_cli({"image"}).exit_code, 2);
  EXPECT_EQ(kvmrun_cli({"image", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(
      kvmrun_cli({"image", "fetch", "nope", "--config", (dir / "lab.toml").string()}).exit_code, 3);
}

} // namespace
} // namespace kvmrun
