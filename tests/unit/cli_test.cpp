#include "cli/cli.hpp"
#include "tests/support/cli_in_process.hpp"

#include <gtest/gtest.h>

namespace kvmrun::cli {
namespace {

testing::CliRun run(const std::vector<std::string>& args) {
  return testing::run_cli_in_process(args, {}, 1000, "/");
}

TEST(Cli, WithoutACommandPrintsUsageAndExitsWithTheUsageCode) {
  const auto r = run({});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("usage: kvmrun"), std::string::npos);
}

TEST(Cli, HelpGoesToStdoutAndSucceeds) {
  for (const auto& args : {std::vector<std::string>{"help"}, {"--help"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("preflight"), std::string::npos);
    EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  }
}

TEST(Cli, VersionListsEveryLinkedLibrary) {
  const auto r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"kvmrun ", "libcurl ", "OpenSSL ", "Boost 1.81", "toml++ ", "zlib "})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
}

TEST(Cli, AnUnknownCommandIsAUsageErrorNamingIt) {
  const auto r = run({"launch"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'launch'"), std::string::npos);
}

TEST(Cli, AnUnknownOptionIsAUsageErrorNamingIt) {
  const auto r = run({"preflight", "--jsn"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option '--jsn'"), std::string::npos);
}

TEST(Cli, AnUnknownAcceleratorIsAUsageErrorWithTheChoices) {
  const auto r = run({"preflight", "--accel", "hvf"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown accelerator 'hvf'"), std::string::npos);
  EXPECT_NE(r.err.find("auto, kvm or tcg"), std::string::npos);
}

TEST(Cli, AnOptionMissingItsValueIsAUsageError) {
  const auto r = run({"preflight", "--accel"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("needs a value"), std::string::npos);
}

TEST(Cli, ASwitchGivenAValueIsAUsageError) {
  const auto r = run({"preflight", "--json=yes"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("takes no value"), std::string::npos);
}

TEST(Cli, PreflightRejectsStrayArguments) {
  const auto r = run({"preflight", "extra"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'extra'"), std::string::npos);
}

} // namespace
} // namespace kvmrun::cli

namespace kvmrun::cli {
namespace {

TEST(CliSeed, NeedsExactlyOneInstanceAndAnOutput) {
  EXPECT_EQ(run({"seed"}).code, 2);
  EXPECT_EQ(run({"seed", "a", "b", "-o", "x"}).code, 2);
  const auto r = run({"seed", "a"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("needs -o FILE.iso"), std::string::npos);
}

TEST(CliSeed, OptionsOfOtherCommandsAreRefused) {
  const auto r = run({"seed", "a", "-o", "x", "--accel", "kvm"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'seed' does not take --accel"), std::string::npos);
}

} // namespace
} // namespace kvmrun::cli
