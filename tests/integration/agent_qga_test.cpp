// The guest-agent client against the real qemu-ga from Debian, listening on a unix socket on
// this host (the same program and protocol a guest runs behind its virtio-serial channel).
#include "base/subprocess.hpp"
#include "qmp/agent_commands.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace kvmrun::qmp {
namespace {

using namespace std::chrono_literals;

class RealAgent : public ::testing::Test {
protected:
  void SetUp() override {
    const auto qga = find_executable("qemu-ga", "/usr/sbin:/usr/bin:/sbin:/bin");
    if (!qga)
      GTEST_SKIP() << "qemu-ga is not installed (scripts/setup-deps installs qemu-guest-agent)";
    std::filesystem::create_directories(dir / "state");
    process = std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{qga->string(), "-m", "unix-listen", "-p",
                                 (dir / "qga.sock").string(), "-t", (dir / "state").string()});
    // qemu-ga prints nothing when ready: wait (bounded) for its socket to appear.
    for (int i = 0; i < 500 && !std::filesystem::exists(dir / "qga.sock"); ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(agent.connect(dir / "qga.sock").ok());
  }

  testing::TempDir dir;
  std::unique_ptr<testing::BackgroundProcess> process;
  EventLoop loop;
  AgentClient agent{loop};
};

TEST_F(RealAgent, PingsAndDescribesItself) {
  ASSERT_TRUE(guest_ping(agent, deadline_after(10s)).ok());
  const auto info = guest_info(agent, deadline_after(10s));
  ASSERT_TRUE(info.ok()) << info.error().describe();
  EXPECT_FALSE(info->version.empty());
  EXPECT_NE(std::find(info->enabled_commands.begin(), info->enabled_commands.end(), "guest-exec"),
            info->enabled_commands.end());
  const auto os = guest_osinfo(agent, deadline_after(10s));
  ASSERT_TRUE(os.ok());
  EXPECT_FALSE(os->kernel_release.empty());
}

TEST_F(RealAgent, ListsNetworkInterfacesWithAddresses) {
  const auto ifaces = guest_network_interfaces(agent, deadline_after(10s));
  ASSERT_TRUE(ifaces.ok()) << ifaces.error().describe();
  bool loopback = false;
  for (const auto& i : *ifaces)
    for (const auto& a : i.addresses)
      loopback = loopback || a == "127.0.0.1/8";
  EXPECT_TRUE(loopback);
}

TEST_F(RealAgent, RunsACommandAndReturnsItsOutputAndExitCode) {
  const auto r =
      guest_run(agent, "/bin/sh", {"-c", "echo out; echo err >&2; exit 3"}, deadline_after(20s));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->exited);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST_F(RealAgent, AMissingProgramIsAnError) {
  const auto r = guest_run(agent, "/nonexistent/program", {}, deadline_after(20s));
  EXPECT_FALSE(r.ok() && r->exit_code == 0);
}

TEST_F(RealAgent, ACommandStillRunningAtItsDeadlineTimesOut) {
  const auto r = guest_run(agent, "/bin/sleep", {"5"}, deadline_after(300ms));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::timeout);
  EXPECT_TRUE(guest_ping(agent, deadline_after(10s)).ok()) << "the channel recovers";
}

TEST_F(RealAgent, ReadsFilesAndReportsMissingOnes) {
  testing::write_file(dir / "hello.txt", "hello from the guest\n");
  const auto content = guest_read_file(agent, (dir / "hello.txt").string(), deadline_after(10s));
  ASSERT_TRUE(content.ok()) << content.error().describe();
  EXPECT_EQ(*content, "hello from the guest\n");
  const auto missing = guest_read_file(agent, (dir / "nope.txt").string(), deadline_after(10s));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::guest);
}

} // namespace
} // namespace kvmrun::qmp
