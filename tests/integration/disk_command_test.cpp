// `kvmrun disk overlay|create|info` through the real binary.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "tests/support/kvmrun_binary.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <sys/stat.h>

namespace kvmrun {
namespace {

TEST(DiskCommand, CreateThenOverlayThenInfoShowsTheChain) {
  testing::TempDir dir;
  const auto base = (dir / "base.qcow2").string();
  const auto over = (dir / "over.qcow2").string();
  ASSERT_EQ(testing::run_kvmrun({"disk", "create", base, "2GiB"}).exit_code, 0);
  const auto made = testing::run_kvmrun({"disk", "overlay", base, over, "--size", "4GiB"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  struct stat st {};
  ASSERT_EQ(::stat(over.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
  const auto info = testing::run_kvmrun({"disk", "info", over, "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto chain = boost::json::parse(info.out).at("chain").as_array();
  ASSERT_EQ(chain.size(), 2U);
  EXPECT_EQ(chain[0].at("virtual_size").to_number<std::uint64_t>(), 4ULL << 30U);
  EXPECT_EQ(chain[0].at("backing_file").as_string(), base);
  EXPECT_EQ(chain[0].at("backing_format").as_string(), "qcow2");
  EXPECT_EQ(chain[0].at("verdict").as_string(), "overlay");
  EXPECT_EQ(chain[1].at("verdict").as_string(), "safe as a base");
}

TEST(DiskCommand, AnOverlayCannotShrinkItsBase) {
  testing::TempDir dir;
  ASSERT_EQ(testing::run_kvmrun({"disk", "create", (dir / "b.qcow2").string(), "2GiB"}).exit_code,
            0);
  const auto r = testing::run_kvmrun({"disk", "overlay", (dir / "b.qcow2").string(),
                                      (dir / "o.qcow2").string(), "--size", "1GiB"});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("cannot be smaller than its base"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.qcow2"));
}

TEST(DiskCommand, AnOverlayIsNeverMadeOverAnUnsafeBase) {
  testing::TempDir dir;
  const auto base = (dir / "base.qcow2").string();
  ASSERT_EQ(testing::run_kvmrun({"disk", "create", base, "1GiB"}).exit_code, 0);
  auto bytes = *read_file(base);
  bytes[79] = static_cast<char>(bytes[79] | 2); // the corrupt bit
  ASSERT_TRUE(write_file_atomic(base, bytes).ok());
  const auto r = testing::run_kvmrun({"disk", "overlay", base, (dir / "o.qcow2").string()});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("not safe as a base image: the corrupt bit is set"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.qcow2"));
  const auto info = testing::run_kvmrun({"disk", "info", base});
  EXPECT_EQ(info.exit_code, 6);
  EXPECT_NE(info.out.find("verdict: unsafe"), std::string::npos);
}

TEST(DiskCommand, NothingIsEverOverwritten) {
  testing::TempDir dir;
  const auto path = (dir / "d.qcow2").string();
  ASSERT_EQ(testing::run_kvmrun({"disk", "create", path, "1GiB"}).exit_code, 0);
  const auto before = *read_file(path);
  const auto r = testing::run_kvmrun({"disk", "create", path, "8GiB"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_NE(r.err.find("already exists"), std::string::npos);
  EXPECT_EQ(*read_file(path), before);
}

TEST(DiskCommand, BadArgumentsAreUsageErrors) {
  EXPECT_EQ(testing::run_kvmrun({"disk"}).exit_code, 2);
  EXPECT_EQ(testing::run_kvmrun({"disk", "create", "x.qcow2", "lots"}).exit_code, 2);
  EXPECT_EQ(testing::run_kvmrun({"disk", "info", "x", "--format", "vmdk"}).exit_code, 2);
  EXPECT_EQ(testing::run_kvmrun({"disk", "info", "/nonexistent.qcow2"}).exit_code, 10);
}

} // namespace
} // namespace kvmrun
