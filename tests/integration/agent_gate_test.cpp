// The agent gate against a guest agent channel that closes every connection at once (what a
// guest that sends garbage, or a channel QEMU drops, looks like to kvmrun): it reconnects and
// backs off between attempts instead of retrying at once, so a wait costs kvmrun next to no
// CPU. QMP is a real QEMU (-machine none), in `check`'s recheck mode.
#include "base/unix_socket.hpp"
#include "instance/paths.hpp"
#include "readiness/gates.hpp"
#include "tests/support/qemu_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace kvmrun::readiness {
namespace {

using namespace std::chrono_literals;

// Accepts connections on `socket` and closes each at once, counting them.
class ClosingAgent {
public:
  explicit ClosingAgent(const std::filesystem::path& socket) {
    auto fd = listen_unix(socket);
    EXPECT_TRUE(fd.ok()) << fd.error().describe();
    if (fd)
      m_listener = std::move(fd).value();
    m_thread = std::thread([this] {
      while (!m_stop) {
        pollfd p{m_listener.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
          UniqueFd client(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
          if (client.valid())
            ++m_accepted;
        }
      }
    });
  }
  ~ClosingAgent() {
    m_stop = true;
    m_thread.join();
  }
  ClosingAgent(const ClosingAgent&) = delete;
  ClosingAgent& operator=(const ClosingAgent&) = delete;
  [[nodiscard]] int accepted() const { return m_accepted; }

private:
  UniqueFd m_listener;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_accepted{0};
  std::thread m_thread;
};

std::chrono::microseconds thread_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return std::chrono::seconds(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         std::chrono::microseconds(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

TEST(AgentGate, AChannelThatKeepsClosingIsRetriedWithBackoffNotInABusyLoop) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  testing::QemuProcess qemu("none");
  ASSERT_TRUE(qemu.started());
  testing::TempDir state;
  const instance::InstancePaths paths{state.path(), qemu.dir().path()};
  testing::write_file(paths.serial_log(), "Linux version 6.1.0 (test)\n");
  ClosingAgent agent(paths.agent_socket());

  // KVMRUN_AGENT_WAIT_S lengthens the wait for a measurement (the figure is 60 s).
  const char* wait_env = std::getenv("KVMRUN_AGENT_WAIT_S");
  const auto wait = std::chrono::seconds(wait_env != nullptr ? std::atoi(wait_env) : 10);
  GateTarget target{"gates", {}, paths, false, 60s, {}, {}, 0, std::nullopt};
  target.instance.name = "closing";
  target.instance.timeouts.agent = wait;
  std::chrono::microseconds agent_started{0};
  std::chrono::microseconds agent_cpu{0};
  std::vector<GateOutcome> outcomes;
  const auto s = run_gates(target, GateMode::recheck, [&](const GateOutcome& o) {
    outcomes.push_back(o);
    if (o.gate == "boot")
      agent_started = thread_cpu();
    if (o.gate == "agent")
      agent_cpu = thread_cpu() - agent_started;
  });
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(outcomes.size(), 3U) << s.error().describe();
  EXPECT_TRUE(outcomes[0].passed) << outcomes[0].error->describe();
  EXPECT_TRUE(outcomes[1].passed) << outcomes[1].error->describe();
  EXPECT_EQ(s.error().code(), ErrorCode::timeout) << s.error().describe();
  EXPECT_NE(s.error().message().find("the guest agent did not answer guest-ping"),
            std::string::npos);
  EXPECT_GE(outcomes[2].duration, wait - 100ms);
  std::cout << "agent gate: waited " << outcomes[2].duration.count() << " ms, " << agent.accepted()
            << " connections, kvmrun CPU " << static_cast<double>(agent_cpu.count()) / 1000.0
            << " ms\n";
  // Retrying at once made thousands of connections and burnt the whole wait in CPU; backing
  // off from 0.25 s to 5 s makes a handful.
  EXPECT_GE(agent.accepted(), 2);
  EXPECT_LE(agent.accepted(), 6 + static_cast<int>(wait / 5s));
  EXPECT_LT(agent_cpu, std::chrono::microseconds(wait) / 100);
}

} // namespace
} // namespace kvmrun::readiness
