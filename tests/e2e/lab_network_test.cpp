// Lab networks end to end with tiny guests under TCG: three instances on one segment reach each
// other by address and by name, a TCP service on one is reached from another, a second copy of
// the same lab beside it never sees the first's frames, the switch is found again by a later
// kvmrun, `down` of one instance leaves the others connected, and the last `down` takes the
// switch with it.
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <iostream>
#include <thread>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

// `copy` marks what node-1 serves, so each copy of the lab tells its own from the other's.
std::string lan_lab(const std::string& copy) {
  std::string lab = "[lab]\nname = \"lan\"\n" + tiny_image_section() + R"(
[networks.app]
subnet = "192.168.122.0/24"

[defaults]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s", network = "120s" }
)";
  for (int n = 1; n <= 3; ++n) {
    const std::string name = "node-" + std::to_string(n);
    lab += "[instances." + name + "]\nnetworks = [{ name = \"app\", address = \"192.168.122.1" +
           std::to_string(n) + "\" }]\n";
  }
  lab += "[instances.node-1.cloud_init]\nruncmd = [\"mkdir -p /www\", \"echo served-by-node-1-of-" +
         copy + " > /www/index.html\", \"httpd -p 8080 -h /www\"]\n";
  return lab;
}

// The script's whole outcome (it may be expected to fail), within 60 s.
CommandOutput exec_in(const Lab& lab, const std::string& instance, const std::string& script) {
  return lab.run({"exec", instance, "--timeout", "60", "--", "/bin/sh", "-c", script}, 90s);
}

bool switch_process_exists() {
  std::error_code ec;
  for (const auto& p : std::filesystem::directory_iterator("/proc", ec)) {
    const auto cmdline = read_file(p.path() / "cmdline", 1U << 16U);
    if (cmdline && cmdline->find(std::string("\0switch\0", 8)) != std::string::npos &&
        cmdline->find("kvmrun") != std::string::npos && cmdline->find("/lan") != std::string::npos)
      return true;
  }
  return false;
}

TEST(LabNetwork, ThreeTinyGuestsOnOneSegmentReachEachOtherAndNothingElse) {
  Lab lab(lan_lab("a"));
  const auto up = lab.run({"up"});
  std::cout << up.out << up.err;
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("network app (192.168.122.0/24): switch pid "), std::string::npos);
  for (int n = 1; n <= 3; ++n) {
    const std::string node = "node-" + std::to_string(n);
    EXPECT_NE(up.out.find(node + "       ok   peers"), std::string::npos) << node;
    EXPECT_NE(up.out.find("app 192.168.122.1" + std::to_string(n) + "/24 (static)"),
              std::string::npos)
        << node;
  }

  // By address, by name and by name.network; a TCP service across the segment.
  const auto pings = exec_in(lab, "node-2",
                             "ping -c 1 -W 2 192.168.122.11 && ping -c 1 -W 2 node-1 && "
                             "ping -c 1 -W 2 node-3.app");
  EXPECT_EQ(pings.exit_code, 0) << pings.out << pings.err;
  const auto page = exec_in(lab, "node-3", "wget -q -O - http://node-1:8080/");
  EXPECT_EQ(page.exit_code, 0) << page.err;
  EXPECT_EQ(page.out, "served-by-node-1-of-a\n");

  // A second copy of the same lab (its own state and runtime directories), running at the same
  // time with only its node-1: it never meets the first copy's members.
  {
    Lab copy(lan_lab("b"));
    const auto up_b = copy.run({"up", "node-1"});
    ASSERT_EQ(up_b.exit_code, 0) << up_b.out << up_b.err;
    EXPECT_NE(up_b.out.find("no other members running"), std::string::npos) << up_b.out;
    const auto across = exec_in(copy, "node-1", "ping -c 2 -W 1 192.168.122.12");
    EXPECT_NE(across.exit_code, 0) << "the copy reached the first lab's node-2:\n" << across.out;
    const auto own = exec_in(lab, "node-2", "wget -q -O - http://192.168.122.11:8080/");
    EXPECT_EQ(own.out, "served-by-node-1-of-a\n") << "the first lab reached the copy's node-1";
    EXPECT_EQ(copy.run({"down", "--purge-disks"}).exit_code, 0);
  }

  // A later kvmrun finds the switch again: status shows it, check re-proves the peers.
  const auto status = lab.run({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto doc = boost::json::parse(status.out).as_object();
  const auto& net = doc.at("networks").as_array().at(0).as_object();
  EXPECT_EQ(net.at("name").as_string(), "app");
  EXPECT_EQ(net.at("switch").as_string(), "running");
  ASSERT_TRUE(net.contains("pid"));
  const auto switch_pid = static_cast<pid_t>(net.at("pid").as_int64());
  EXPECT_TRUE(alive(switch_pid));
  const auto check = lab.run({"check"}, 5min);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("reaches node-2.app, node-3.app"), std::string::npos) << check.out;

  // Down of one instance leaves the others connected and the switch running.
  const auto down_3 = lab.run({"down", "node-3"});
  ASSERT_EQ(down_3.exit_code, 0) << down_3.err;
  EXPECT_EQ(down_3.out.find("switch stopped"), std::string::npos) << down_3.out;
  EXPECT_TRUE(alive(switch_pid));
  EXPECT_EQ(exec_in(lab, "node-2", "ping -c 1 -W 2 node-1").exit_code, 0);

  // The last members down: the switch goes with them, and nothing is left.
  const auto down = lab.run({"down", "--purge-disks"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("network app: switch stopped"), std::string::npos) << down.out;
  // Both stopped at once: the tiny guest ignores ACPI, so each waits out its 3 s step, and both
  // asked before either gave up on it.
  const auto last_ask = down.out.rfind("ACPI powerdown");
  const auto first_quit = down.out.find("QMP quit");
  ASSERT_NE(first_quit, std::string::npos) << down.out;
  EXPECT_LT(last_ask, first_quit) << "the instances were stopped one after another:\n" << down.out;
  EXPECT_FALSE(alive(switch_pid));
  EXPECT_FALSE(switch_process_exists());
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(lab.runtime() / "lan", ec));
}

} // namespace
} // namespace kvmrun::testing

namespace kvmrun::testing {
namespace {

std::string quoted(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    std::string q = "'";
    for (const char c : a)
      q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += (line.empty() ? "" : " ") + q + "'";
  }
  return line;
}

// Root mode, in a network namespace this test makes (never on the host's interfaces): a lab
// network on an existing bridge gets a tap per member on it, the members reach each other
// through it, and the taps go with their QEMUs.
TEST(LabNetwork, RootModePutsEachMemberOnTheHostBridgeThroughItsOwnTap) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "root mode needs root (CAP_NET_ADMIN)";
  const auto probe = run_command({"unshare", "--net", "true"});
  if (!probe.ok() || !probe->success())
    GTEST_SKIP() << "network namespaces are not available here (unshare --net failed)";
  std::string toml = lan_lab("bridged");
  toml.replace(toml.find("subnet = \"192.168.122.0/24\"\n"),
               std::string("subnet = \"192.168.122.0/24\"\n").size(),
               "subnet = \"192.168.122.0/24\"\nbridge = \"kvbr0\"\n");
  Lab lab(toml);
  const std::string script =
      "set -e\n"
      "ip link set lo up\n"
      "ip link add kvbr0 type bridge\n"
      "ip link set kvbr0 up\n" +
      quoted(lab.argv({"up", "node-1", "node-2"})) + " > up.log 2>&1 || { cat up.log; exit 1; }\n" +
      "echo taps=$(ip -o link show master kvbr0 | wc -l)\n" +
      quoted(lab.argv({"exec", "node-1", "--", "/bin/sh", "-c", "ping -c 1 -W 2 node-2"})) +
      " && echo pinged\n" + quoted(lab.argv({"status"})) + "\n" +
      quoted(lab.argv({"down", "--purge-disks"})) + "\n" +
      "echo taps-after=$(ip -o link show master kvbr0 | wc -l)\n";
  const auto r = run_command({"unshare", "--net", "/bin/sh", "-c",
                              "cd " + lab.state().parent_path().string() + " && " + script},
                             CommandOptions{10min, 1U << 20U});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  std::cout << r->out << r->err;
  ASSERT_TRUE(r->success()) << r->out << r->err;
  EXPECT_NE(r->out.find("taps=2\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("pinged\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("  network app  192.168.122.0/24  bridge kvbr0\n"), std::string::npos)
      << r->out;
  EXPECT_NE(r->out.find("taps-after=0\n"), std::string::npos) << "a tap outlived its QEMU";
  EXPECT_FALSE(switch_process_exists()) << "a bridged network has no switch";
}

} // namespace
} // namespace kvmrun::testing

namespace kvmrun::testing {
namespace {

// kvmrun killed while its lab comes up: the switch and the QEMUs it started run on, a later
// kvmrun finds them (status), re-proves the peers (check; the provenance record the killed up
// never wrote is reported missing) and takes everything down, the switch included.
TEST(LabNetwork, AfterKvmrunIsKilledMidUpTheSwitchIsFoundAgainAndCleaned) {
  Lab lab(lan_lab("killed"));
  {
    BackgroundProcess up(lab.argv({"up", "node-1", "node-2"}));
    ASSERT_TRUE(up.wait_for_line("  node-2: QEMU pid ", 120s)) << "kvmrun up never got there";
    ::kill(up.pid(), SIGKILL); // the gates are waiting
    ASSERT_TRUE(up.wait_exit(10s));
  }
  const auto status = lab.run({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto doc = boost::json::parse(status.out).as_object();
  const auto& net = doc.at("networks").as_array().at(0).as_object();
  EXPECT_EQ(net.at("switch").as_string(), "running");
  const auto switch_pid = static_cast<pid_t>(net.at("pid").as_int64());
  EXPECT_TRUE(alive(switch_pid));
  // check is read-only and does not wait: let both guests finish booting first (bounded).
  for (const std::string node : {"node-1", "node-2"}) {
    const auto log = lab.state() / "lan" / node / "serial.log";
    const auto until = std::chrono::steady_clock::now() + 120s;
    while (std::chrono::steady_clock::now() < until) {
      const auto text = read_file(log, 16U << 20U);
      if (text && text->find("kvmrun-ready") != std::string::npos)
        break;
      std::this_thread::sleep_for(200ms);
    }
  }
  // The peers are re-proven; only the provenance the killed up never wrote is missing (an up
  // that adopts a half-started instance is the reliability issue's).
  const auto check = lab.run({"check", "node-1", "node-2"}, 5min);
  EXPECT_NE(check.out.find("node-1       ok   peers"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("reaches node-2.app"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("reaches node-1.app"), std::string::npos) << check.out;
  EXPECT_EQ(check.exit_code, 9) << check.out << check.err;
  EXPECT_NE(check.err.find("no provenance record"), std::string::npos) << check.err;
  const auto down = lab.run({"down", "--purge-disks"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("network app: switch stopped"), std::string::npos) << down.out;
  EXPECT_FALSE(alive(switch_pid));
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists(lab.runtime() / "lan", ec));
}

} // namespace
} // namespace kvmrun::testing
