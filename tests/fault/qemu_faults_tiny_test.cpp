// QEMU that stops answering (SIGSTOP: alive, its sockets open, nothing served) with the tiny
// guest: while `up` waits on the agent gate, and while it runs detached. Every wait is bounded:
// the gate times out (exit 8, the gate and its setting named), the stop ladder finds no monitor
// that greets, escalates to signals and ends with SIGKILL; nothing is left for the next `up`,
// which brings the instance up again on the same disks, `qemu-img check` clean.
// Levels proven: PROC (no QEMU or lock left, the next up works), DATA (overlay clean), DIAG.
#include "tests/e2e/lab_harness.hpp"

#include <sys/wait.h>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

TEST(TinyQemuFaults, AQemuStoppedDuringTheGatesOrWhileDetachedIsBoundedAndCleanedUp) {
  Lab lab(one_tiny_lab("hang", "shutdown = \"2s\", agent = \"6s\""));
  {
    BackgroundProcess up(lab.argv({"up"}));
    const auto line = up.wait_for_line("  tiny-1: QEMU pid ", 120s);
    ASSERT_TRUE(line);
    const pid_t qemu = pid_from(*line, "tiny-1");
    ASSERT_TRUE(up.wait_for_line("  tiny-1       ok   boot", 120s));
    ::kill(qemu, SIGSTOP); // the agent gate now waits on a QEMU that serves nothing
    const auto started = std::chrono::steady_clock::now();
    const auto status = up.wait_exit(90s);
    ASSERT_TRUE(status) << "up waited past every bound";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 8) << *status;
    // The agent's 6 s, then the ladder: 5 s for a monitor that never greets, SIGTERM (which a
    // stopped process does not act on) for 2 s, SIGKILL.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 40s);
    EXPECT_FALSE(alive(qemu));
  }
  EXPECT_TRUE(runtime_empty(lab));

  // Detached and then stopped: status says so, down ends it by signal, bounded.
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const pid_t qemu = pid_from(up.out, "tiny-1");
  ::kill(qemu, SIGSTOP);
  const auto started = std::chrono::steady_clock::now();
  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_NE(down.out.find("tiny-1: stopped (SIGKILL"), std::string::npos) << down.out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  EXPECT_FALSE(alive(qemu));
  EXPECT_TRUE(runtime_empty(lab));

  const auto check = run_command(
      {"qemu-img", "check", "-q", (lab.state() / "hang" / "tiny-1" / "disk.qcow2").string()},
      CommandOptions{std::chrono::minutes(1), 1U << 20U});
  EXPECT_TRUE(check && check->success()) << (check ? check->out + check->err : "");
  const auto again = lab.run({"up"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
}

// Stopped the moment it is spawned, before its monitor has greeted: the first gate (qemu) waits
// out its own bound, the ladder ends it, and the next up starts it afresh.
TEST(TinyQemuFaults, AQemuStoppedBeforeItsMonitorGreetsFailsTheFirstGateBounded) {
  Lab lab(one_tiny_lab("early", "shutdown = \"2s\", qemu = \"5s\""));
  {
    BackgroundProcess up(lab.argv({"up"}));
    const auto line = up.wait_for_line("  tiny-1: QEMU pid ", 120s);
    ASSERT_TRUE(line);
    const pid_t qemu = pid_from(*line, "tiny-1");
    ::kill(qemu, SIGSTOP);
    const auto started = std::chrono::steady_clock::now();
    const auto status = up.wait_exit(90s);
    ASSERT_TRUE(status) << "up waited past every bound";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 8) << *status;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
    EXPECT_FALSE(alive(qemu));
  }
  EXPECT_TRUE(runtime_empty(lab));
  const auto again = lab.run({"up"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
}

} // namespace
} // namespace kvmrun::testing
