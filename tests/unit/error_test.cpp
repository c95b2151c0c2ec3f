#include "base/result.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

namespace kvmrun {
namespace {

constexpr ErrorCode all_codes[] = {ErrorCode::internal, ErrorCode::usage,    ErrorCode::config,
                                   ErrorCode::host,     ErrorCode::image,    ErrorCode::disk,
                                   ErrorCode::qemu,     ErrorCode::timeout,  ErrorCode::guest,
                                   ErrorCode::io,       ErrorCode::protocol, ErrorCode::busy};

TEST(ErrorCodes, EveryFailureClassHasItsOwnNonZeroExitCode) {
  std::set<int> seen;
  for (const auto code : all_codes) {
    const int exit = exit_code(code);
    EXPECT_NE(exit, 0) << to_string(code);
    EXPECT_NE(exit, 1) << to_string(code);
    EXPECT_TRUE(seen.insert(exit).second) << "exit code " << exit << " is used twice";
  }
}

TEST(ErrorCodes, ExitCodesAreTheDocumentedOnes) {
  EXPECT_EQ(exit_code(ErrorCode::usage), 2);
  EXPECT_EQ(exit_code(ErrorCode::config), 3);
  EXPECT_EQ(exit_code(ErrorCode::host), 4);
  EXPECT_EQ(exit_code(ErrorCode::busy), 12);
  EXPECT_EQ(exit_code(ErrorCode::internal), 70);
}

TEST(Error, DescribeChainsContextOutermostFirstAndEndsWithTheRemedy) {
  Error e(ErrorCode::disk, "No space left on device", "free space in /var");
  e.add_context("creating overlay web-1.qcow2");
  e.add_context("starting instance web-1");
  EXPECT_EQ(e.describe(), "while starting instance web-1: while creating overlay web-1.qcow2: "
                          "No space left on device. Remedy: free space in /var");
}

TEST(Error, SystemErrorNamesTheOperationAndTheErrno) {
  const Error e = system_error(ErrorCode::io, "opening /x", ENOENT);
  EXPECT_EQ(e.code(), ErrorCode::io);
  EXPECT_EQ(e.message(), "opening /x: No such file or directory");
}

Result<int> half(int n) {
  if (n % 2 != 0)
    return Error(ErrorCode::usage, std::to_string(n) + " is odd");
  return n / 2;
}

TEST(Result, CarriesAValueOrAnError) {
  const auto good = half(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  const auto bad = half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "3 is odd");
}

TEST(Result, ContextIsAddedToFailuresOnly) {
  auto bad = half(3).context("halving");
  EXPECT_EQ(bad.error().describe(), "while halving: 3 is odd");
  auto good = half(2).context("halving");
  EXPECT_TRUE(good.ok());
  Status failed = Status(Error(ErrorCode::io, "boom")).context("writing");
  EXPECT_EQ(failed.error().describe(), "while writing: boom");
  EXPECT_TRUE(Status().context("nothing").ok());
}

} // namespace
} // namespace kvmrun

namespace kvmrun {
namespace {

TEST(Error, AMultiLineMessageGetsItsRemedyOnALineOfItsOwn) {
  const Error e(ErrorCode::config, "2 problems:\n  a\n  b", "fix them");
  EXPECT_EQ(e.describe(), "2 problems:\n  a\n  b\nRemedy: fix them");
}

} // namespace
} // namespace kvmrun
