// The shipped binary itself: fully static, and honest about what is inside it.
#include "base/subprocess.hpp"

#include <gtest/gtest.h>

namespace kvmrun {
namespace {

TEST(Binary, IsAStaticallyLinkedExecutableAccordingToFileAndLdd) {
  if (!KVMRUN_BINARY_IS_STATIC)
    GTEST_SKIP() << "this build links kvmrun dynamically (sanitizers or KVMRUN_STATIC=OFF)";
  if (!find_executable("file"))
    GTEST_SKIP() << "the 'file' tool is not installed (scripts/setup-deps installs it)";
  const auto file = run_command({"file", "-L", KVMRUN_BINARY});
  ASSERT_TRUE(file.ok()) << file.error().describe();
  EXPECT_NE(file->out.find("statically linked"), std::string::npos) << file->out;
  const auto ldd = run_command({"ldd", KVMRUN_BINARY});
  ASSERT_TRUE(ldd.ok()) << ldd.error().describe();
  EXPECT_NE((ldd->out + ldd->err).find("not a dynamic executable"), std::string::npos)
      << ldd->out << ldd->err;
}

TEST(Binary, VersionReportsTheLibraryVersionsLinkedIn) {
  const auto r = run_command({KVMRUN_BINARY, "--version"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->success());
  EXPECT_NE(r->out.find("libcurl 7.88.1 (OpenSSL/3"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("OpenSSL 3."), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("Boost 1.81.0"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("toml++ 3."), std::string::npos) << r->out;
}

TEST(Binary, AUsageErrorExitsWithCodeTwoAndOneErrorLine) {
  const auto r = run_command({KVMRUN_BINARY, "no-such-command"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_EQ(r->err, "kvmrun: error: unknown command 'no-such-command'. Remedy: see 'kvmrun "
                    "help'\n");
}

} // namespace
} // namespace kvmrun
