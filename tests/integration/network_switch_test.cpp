// The lab network switch as a real process (`kvmrun switch`, started and stopped as `up` and
// `down` do), with unix datagram sockets standing in for QEMU's -netdev dgram ends: learning,
// flooding, members only, a restart the members survive, and two labs that never meet.
#include "base/lock_file.hpp"
#include "network/switch.hpp"
#include "network/tap.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace kvmrun::network {
namespace {

using namespace std::chrono_literals;

// A member's port: bound where QEMU binds it, sending to the switch's socket by path.
class Port {
public:
  Port(const std::filesystem::path& path, const std::filesystem::path& to) : m_to(to) {
    std::filesystem::create_directories(path.parent_path());
    m_fd = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    ::unlink(path.c_str());
    EXPECT_EQ(::bind(m_fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << path;
  }
  bool send(const std::string& frame) const {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, m_to.c_str(), sizeof sa.sun_path - 1);
    return ::sendto(m_fd.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sa),
                    sizeof sa) == static_cast<ssize_t>(frame.size());
  }
  // The next frame within `wait`, or "" when none comes.
  std::string receive(std::chrono::milliseconds wait = 500ms) const {
    pollfd p{m_fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1)
      return {};
    std::string buf(65536, '\0');
    const ssize_t n = ::recv(m_fd.get(), buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buf;
  }

private:
  UniqueFd m_fd;
  std::filesystem::path m_to;
};

std::string frame(char dst, char src, const std::string& payload) {
  std::string f = std::string(1, '\x52') + std::string(4, '\0') + dst + '\x52' +
                  std::string(4, '\0') + src + "\x08\x00" + payload;
  if (dst == '*')
    f.replace(0, 6, std::string(6, '\xff'));
  return f;
}

class SwitchTest : public ::testing::Test {
protected:
  SwitchSpec spec(const std::filesystem::path& runtime) const {
    return SwitchSpec{runtime / "lab", "app", {"a", "b", "c"}};
  }
  Result<pid_t> start(const SwitchSpec& s) {
    return start_switch(KVMRUN_BINARY, s, m_dir / "state" / "app.log", true, std::nullopt,
                        deadline_after(10s));
  }
  std::filesystem::path port(const SwitchSpec& s, const std::string& member) const {
    return port_socket(s.lab_runtime / member, s.network);
  }
  std::filesystem::path switch_socket(const SwitchSpec& s) const {
    return switch_paths(s.lab_runtime, s.network).socket();
  }
  testing::TempDir m_dir;
};

TEST_F(SwitchTest, LearnsFloodsAndForwardsBetweenMembersOnly) {
  const auto s = spec(m_dir / "run");
  const auto pid = start(s);
  ASSERT_TRUE(pid.ok()) << pid.error().describe();
  const Port a(port(s, "a"), switch_socket(s)), b(port(s, "b"), switch_socket(s)),
      c(port(s, "c"), switch_socket(s));
  ASSERT_TRUE(a.send(frame('*', 'A', "who has b")));
  EXPECT_EQ(b.receive(), frame('*', 'A', "who has b"));
  EXPECT_EQ(c.receive(), frame('*', 'A', "who has b"));
  EXPECT_EQ(a.receive(100ms), "") << "a broadcast does not come back";
  ASSERT_TRUE(b.send(frame('A', 'B', "b is here")));
  EXPECT_EQ(a.receive(), frame('A', 'B', "b is here"));
  EXPECT_EQ(c.receive(100ms), "") << "A is learnt: only its port gets it";
  ASSERT_TRUE(a.send(frame('B', 'A', "hello b")));
  EXPECT_EQ(b.receive(), frame('B', 'A', "hello b"));
  EXPECT_EQ(c.receive(100ms), "");

  // Not a member: a socket elsewhere in the lab's runtime directory is never heard.
  const Port stranger(s.lab_runtime / "x" / "net-app.sock", switch_socket(s));
  ASSERT_TRUE(stranger.send(frame('*', 'X', "let me in")));
  EXPECT_EQ(a.receive(200ms), "");
  EXPECT_EQ(b.receive(100ms), "");

  // Found again through its lock and command line; a second start finds it running.
  const auto state = probe_switch(s.lab_runtime, "app");
  EXPECT_EQ(state.state, SwitchState::State::running);
  EXPECT_EQ(state.pid, *pid);
  const auto again = start(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *pid) << "never two switches for one network";
  ASSERT_TRUE(stop_switch(s.lab_runtime, "app", 5s).ok());
  EXPECT_EQ(probe_switch(s.lab_runtime, "app").state, SwitchState::State::stopped);
  EXPECT_FALSE(std::filesystem::exists(switch_paths(s.lab_runtime, "app").dir));
}

TEST_F(SwitchTest, MembersKeepTheirSocketsAcrossARestartOfTheSwitch) {
  const auto s = spec(m_dir / "run");
  ASSERT_TRUE(start(s).ok());
  const Port a(port(s, "a"), switch_socket(s)), b(port(s, "b"), switch_socket(s));
  ASSERT_TRUE(a.send(frame('*', 'A', "one")));
  EXPECT_EQ(b.receive(), frame('*', 'A', "one"));
  ASSERT_TRUE(stop_switch(s.lab_runtime, "app", 5s).ok());
  EXPECT_FALSE(a.send(frame('*', 'A', "lost"))) << "no switch: the datagram has nowhere to go";
  ASSERT_TRUE(start(s).ok());
  ASSERT_TRUE(a.send(frame('*', 'A', "two")));
  EXPECT_EQ(b.receive(), frame('*', 'A', "two"));
  ASSERT_TRUE(stop_switch(s.lab_runtime, "app", 5s).ok());
}

// The lab gained a member: the running switch is replaced by one that admits it, and the
// members it had keep their sockets (connectionless) and reach the new one.
TEST_F(SwitchTest, ASwitchWhoseMembersChangedIsRestartedWithTheNewOnes) {
  auto s = spec(m_dir / "run");
  const auto first = start(s);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  const Port a(port(s, "a"), switch_socket(s));
  const Port d(port(s, "d"), switch_socket(s));
  ASSERT_TRUE(d.send(frame('*', 'D', "not yet a member")));
  EXPECT_EQ(a.receive(200ms), "");
  s.members.push_back("d");
  const auto second = start(s);
  ASSERT_TRUE(second.ok()) << second.error().describe();
  EXPECT_NE(*second, *first) << "the old switch admitted no d";
  EXPECT_EQ(probe_switch(s.lab_runtime, "app").members, s.members);
  ASSERT_TRUE(d.send(frame('*', 'D', "now a member")));
  EXPECT_EQ(a.receive(), frame('*', 'D', "now a member"));
  const auto third = start(s);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, *second) << "the same members: left as it is";
  ASSERT_TRUE(stop_switch(s.lab_runtime, "app", 5s).ok());
}

TEST_F(SwitchTest, TwoLabsWithTheSameNamesNeverSeeEachOthersFrames) {
  const auto one = spec(m_dir / "run-1");
  const auto two = spec(m_dir / "run-2");
  ASSERT_TRUE(start(one).ok());
  ASSERT_TRUE(start(two).ok());
  const Port a1(port(one, "a"), switch_socket(one)), b1(port(one, "b"), switch_socket(one));
  const Port a2(port(two, "a"), switch_socket(two)), b2(port(two, "b"), switch_socket(two));
  // Lab two's member a, aimed at lab one's switch: not lab one's member.
  const Port crossed(port(two, "c"), switch_socket(one));
  ASSERT_TRUE(a1.send(frame('*', 'A', "lab one")));
  ASSERT_TRUE(crossed.send(frame('*', 'C', "from lab two")));
  EXPECT_EQ(b1.receive(), frame('*', 'A', "lab one"));
  EXPECT_EQ(b1.receive(200ms), "") << "lab two's frame reached lab one";
  EXPECT_EQ(b2.receive(200ms), "");
  EXPECT_EQ(a2.receive(100ms), "");
  ASSERT_TRUE(stop_switch(one.lab_runtime, "app", 5s).ok());
  ASSERT_TRUE(stop_switch(two.lab_runtime, "app", 5s).ok());
}

TEST_F(SwitchTest, ALockHeldByAnotherProcessIsNotTakenForTheSwitch) {
  const auto s = spec(m_dir / "run");
  const auto paths = switch_paths(s.lab_runtime, "app");
  std::filesystem::create_directories(paths.dir);
  const auto held = LockFile::acquire(paths.lock(), "test");
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(probe_switch(s.lab_runtime, "app").state, SwitchState::State::foreign);
  const auto stopped = stop_switch(s.lab_runtime, "app", 1s);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code(), ErrorCode::busy);
  EXPECT_TRUE(std::filesystem::exists(paths.lock())) << "nothing was removed";
  const auto started = start(s);
  ASSERT_FALSE(started.ok()) << "a switch started although the lock is held";
  EXPECT_NE(started.error().message().find("is running or another kvmrun is starting it"),
            std::string::npos)
      << started.error().describe();
}

// Root mode's first check touches nothing: a bridge that does not exist is a host error with
// the commands that make one (the rest is proven in a test-made namespace, e2e).
TEST(TapOnBridge, AMissingBridgeIsAHostErrorSayingHowToMakeOne) {
  const auto tap = open_tap_on_bridge(tap_name("lab", "web", "app"), "kvmrun-nobr0");
  ASSERT_FALSE(tap.ok());
  EXPECT_EQ(tap.error().code(), ErrorCode::host);
  EXPECT_EQ(tap.error().message(), "there is no interface 'kvmrun-nobr0' on this host");
  EXPECT_NE(tap.error().remedy().find("ip link add kvmrun-nobr0 type bridge"), std::string::npos);
  EXPECT_EQ(tap_name("lab", "web", "app").size(), 14U) << "within IFNAMSIZ";
  EXPECT_NE(tap_name("lab", "web", "app"), tap_name("lab", "db", "app"));
}

TEST(SwitchArgs, RoundTripAndRefuseNonsense) {
  const SwitchSpec s{"/run/kvmrun/lab", "app", {"a", "b"}};
  const auto argv = switch_argv("/usr/bin/kvmrun", s, 3);
  const auto parsed = parse_switch_args({argv.begin() + 2, argv.end()});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->first.lab_runtime, s.lab_runtime);
  EXPECT_EQ(parsed->first.members, s.members);
  EXPECT_EQ(parsed->second, 3);
  EXPECT_FALSE(parse_switch_args({"relative", "app", "3", "a"}).ok());
  EXPECT_FALSE(parse_switch_args({"/r", "app", "x", "a"}).ok());
  EXPECT_FALSE(parse_switch_args({"/r", "app", "3"}).ok());
}

} // namespace
} // namespace kvmrun::network
