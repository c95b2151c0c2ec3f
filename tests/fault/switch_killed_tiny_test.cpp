// A lab network's switch killed (SIGKILL) while its two tiny guests use it: the guests lose
// each other, `check` says so in its peers gate (exit 8, naming the peer), `up` starts the
// switch again for the running members and re-proves them (the QEMUs find it again by path:
// no guest restarted), and `down` leaves no switch or QEMU.
// Levels proven: PROC (no switch or QEMU left, the same QEMUs after), DIAG.
#include "tests/e2e/lab_harness.hpp"

#include <thread>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::string two_on_a_lan() {
  std::string lab = "[lab]\nname = \"swk\"\n" + tiny_image_section() + R"(
[networks.app]
subnet = "192.168.122.0/24"

[defaults]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s", network = "20s" }
)";
  for (int n = 1; n <= 2; ++n)
    lab += "[instances.node-" + std::to_string(n) +
           "]\nnetworks = [{ name = \"app\", address = \"192.168.122.1" + std::to_string(n) +
           "\" }]\n";
  return lab;
}

pid_t switch_pid(const std::string& out) {
  const std::string mark = "): switch pid ";
  const auto at = out.find(mark);
  return at == std::string::npos ? -1 : std::stoi(out.substr(at + mark.size()));
}

TEST(TinySwitchKilled, TheGuestsLoseEachOtherCheckSaysSoAndUpRestartsTheSwitch) {
  Lab lab(two_on_a_lan());
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const pid_t sw = switch_pid(up.out);
  ASSERT_GT(sw, 0) << up.out;
  const auto before = qemus_of("swk");
  ASSERT_EQ(before.size(), 2U);

  ::kill(sw, SIGKILL);
  for (int i = 0; i < 100 && alive(sw); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(alive(sw));
  const auto lost = lab.run({"check"}, 3min);
  EXPECT_EQ(lost.exit_code, 8) << lost.out << lost.err;
  EXPECT_NE(lost.out.find("FAIL peers"), std::string::npos) << lost.out;

  const auto again = lab.run({"up"}, 3min);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  const pid_t restarted = switch_pid(again.out);
  EXPECT_GT(restarted, 0) << "up did not start the switch again:\n" << again.out;
  EXPECT_NE(restarted, sw);
  EXPECT_NE(again.out.find("ok   peers"), std::string::npos) << again.out;
  EXPECT_EQ(qemus_of("swk"), before) << "the guests were restarted";

  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_TRUE(qemus_of("swk").empty());
  EXPECT_FALSE(alive(restarted));
}

} // namespace
} // namespace kvmrun::testing
