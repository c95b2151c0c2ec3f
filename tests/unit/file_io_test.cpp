#include "base/file_io.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace kvmrun {
namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777U;
}

TEST(WriteFileAtomic, CreatesTheFileWithExactlyTheRequestedMode) {
  testing::TempDir dir;
  for (const auto durability : {Durability::durable, Durability::regenerated}) {
    const auto target = dir / (durability == Durability::durable ? "a" : "b");
    ASSERT_TRUE(write_file_atomic(target, "hello", 0640, durability).ok());
    EXPECT_EQ(*read_file(target), "hello");
    EXPECT_EQ(mode_of(target), 0640U);
  }
}

TEST(WriteFileAtomic, ReplacesAnExistingFileWholeAndLeavesNoTemporaryFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "f", std::string(100000, 'a')).ok());
  ASSERT_TRUE(write_file_atomic(dir / "f", "short").ok());
  EXPECT_EQ(*read_file(dir / "f"), "short");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(WriteFileAtomic, AMissingDirectoryIsAnIoErrorNamingIt) {
  testing::TempDir dir;
  const auto r = write_file_atomic(dir / "no" / "f", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::io);
  EXPECT_NE(r.error().message().find((dir / "no").string()), std::string::npos);
}

TEST(WriteFileAtomic, AFullDiskLeavesTheOldFileAndNoTemporaryFile) {
  testing::TmpfsMount small(64 * 1024);
  if (!small.mounted())
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << small.why();
  const auto target = small.path() / "state.json";
  ASSERT_TRUE(write_file_atomic(target, "old").ok());
  const auto r = write_file_atomic(target, std::string(256 * 1024, 'n'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::io);
  EXPECT_NE(r.error().message().find("No space left on device"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(*read_file(target), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(small.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(ReadFile, RefusesFilesOverTheLimit) {
  testing::TempDir dir;
  testing::write_file(dir / "big", std::string(2000, 'x'));
  const auto r = read_file(dir / "big", 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("larger than 1000 bytes"), std::string::npos);
  EXPECT_EQ(read_file(dir / "big", 2000)->size(), 2000U);
  EXPECT_EQ(read_file(dir / "missing").error().code(), ErrorCode::io);
}

} // namespace
} // namespace kvmrun
