#include "base/subprocess.hpp"

#include "base/file_io.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

namespace kvmrun {
namespace {

using namespace std::chrono_literals;

TEST(RunCommand, CapturesStdoutStderrAndTheExitCode) {
  const auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->signaled);
  EXPECT_FALSE(r->success());
}

TEST(RunCommand, ReportsTheSignalThatEndedTheProgram) {
  const auto r = run_command({"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->signaled);
  EXPECT_EQ(r->signal, SIGTERM);
}

TEST(RunCommand, KillsAndReapsAProgramThatOutlivesItsDeadline) {
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_command({"sleep", "30"}, CommandOptions{200ms, 1024});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::timeout);
  EXPECT_NE(r.error().message().find("200 ms"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(RunCommand, ReturnsWhenTheProgramExitsEvenIfAGrandchildKeepsItsOutputOpen) {
  const auto r = run_command({"sh", "-c", "sleep 30 & echo started"}, CommandOptions{500ms, 1024});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->out, "started\n");
  EXPECT_TRUE(r->success());
}

TEST(RunCommand, KeepsAtMostTheOutputLimitAndStillReadsToTheEnd) {
  const auto r = run_command({"sh", "-c", "head -c 100000 /dev/zero; echo done >&2"},
                             CommandOptions{5000ms, 1000});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->out.size(), 1000U);
  EXPECT_EQ(r->err, "done\n");
}

// Only stdin, stdout and stderr reach the child: none of ours, however high their numbers.
TEST(RunCommand, TheChildInheritsOnlyItsStandardDescriptors) {
  const int low = ::open("/dev/null", O_RDONLY); // not close-on-exec
  const int high = ::fcntl(low, F_DUPFD, 40);    // above any whitelisted number
  ASSERT_GE(high, 40);
  const auto r = run_command({"sh", "-c", "ls /proc/$$/fd"}); // the shell's, listed by its child
  ::close(low);
  ::close(high);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "0\n1\n2\n");
}

TEST(SpawnBackground, PassesExactlyTheListedDescriptorsUnderTheirNumbers) {
  testing::TempDir dir;
  const int log = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  const int extra = ::open("/dev/null", O_RDONLY);
  const int high = ::fcntl(extra, F_DUPFD, 40);
  BackgroundOptions options;
  options.fds = {{5, extra}};
  options.output_fd = log;
  const auto pid = spawn_background({"sh", "-c", "ls /proc/$$/fd; ls -l /proc/$$/fd/5"}, options);
  ::close(log);
  ::close(extra);
  ::close(high);
  ASSERT_TRUE(pid.ok()) << pid.error().describe();
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  const auto out = read_file(dir / "out", 4096);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->substr(0, 8), "0\n1\n2\n5\n");
  EXPECT_NE(out->find("-> /dev/null"), std::string::npos) << *out;
}

TEST(RunCommand, AMissingProgramIsAHostErrorNamingIt) {
  const auto r = run_command({"kvmrun-no-such-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::host);
  EXPECT_NE(r.error().message().find("kvmrun-no-such-program"), std::string::npos);
}

TEST(FindExecutable, SearchesEachPathEntryInOrderAndSkipsNonExecutables) {
  testing::TempDir dir;
  testing::write_file(dir / "a" / "tool", "not executable");
  testing::write_script(dir / "b" / "tool", "exit 0");
  const std::string search = (dir / "a").string() + ":" + (dir / "b").string();
  const auto found = find_executable("tool", search);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, dir / "b" / "tool");
  EXPECT_FALSE(find_executable("other", search).has_value());
  EXPECT_EQ(find_executable((dir / "b" / "tool").string(), ""), dir / "b" / "tool");
}

} // namespace
} // namespace kvmrun
