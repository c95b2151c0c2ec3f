// The boot gate against a real QEMU whose guest never speaks on the serial console (a blank
// disk: SeaBIOS finds nothing to boot and the console stays silent): the KVM boot watchdog, the
// boot timeout under TCG, and QEMU dying before the kernel started. The watchdog's verdict does
// not depend on which accelerator QEMU really runs (this host's KVM cannot boot stock guests),
// only on what `up` decided, so TCG stands in for a KVM that hangs.
#include "base/subprocess.hpp"
#include "images/qcow2.hpp"
#include "instance/lock.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "readiness/gates.hpp"
#include "tests/support/qemu_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <thread>

namespace kvmrun::readiness {
namespace {

using namespace std::chrono_literals;

images::Qcow2Spec blank(std::uint64_t size) {
  images::Qcow2Spec spec;
  spec.virtual_size = size;
  return spec;
}

class SilentGuest {
public:
  SilentGuest() {
    std::filesystem::create_directories(m_paths.state);
    std::filesystem::create_directories(m_paths.runtime);
    EXPECT_TRUE(images::create_qcow2(m_paths.disk(), blank(64ULL << 20U)).ok());
    EXPECT_TRUE(images::create_qcow2(m_paths.seed(), blank(1ULL << 20U)).ok()); // any file
    m_instance.name = "silent";
    m_instance.image = "blank";
    m_instance.cpus = 1;
    m_instance.memory_bytes = 128ULL << 20U;
    m_instance.seed.network.mac = "52:54:00:12:34:56";
  }
  ~SilentGuest() { kill(); }
  SilentGuest(const SilentGuest&) = delete;
  SilentGuest& operator=(const SilentGuest&) = delete;

  // QEMU with the argv `up` builds, started as `up` starts it.
  void start(const lab::ImageSpec& image = blank_image()) {
    auto lock = instance::InstanceLock::acquire(m_paths, m_instance.name);
    ASSERT_TRUE(lock.ok()) << lock.error().describe();
    const auto argv = instance::qemu_argv(instance::QemuLaunch{
        "qemu-system-x86_64", "gates", m_instance, image, m_paths, false, {}, {}});
    const auto pid = instance::start_qemu(m_paths, argv, *lock, true);
    ASSERT_TRUE(pid.ok()) << pid.error().describe();
    m_pid = *pid;
  }
  static lab::ImageSpec blank_image() {
    lab::ImageSpec image;
    image.name = "blank";
    return image;
  }
  void kill() {
    if (m_pid <= 0)
      return;
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }

  // The gates as `up` runs them; the outcomes in order, and the result.
  Status gates(bool kvm, std::chrono::milliseconds watchdog,
               std::vector<GateOutcome>& outcomes) const {
    GateTarget target{"gates", m_instance, m_paths, kvm, watchdog, {}, {}, 0, std::nullopt};
    return run_gates(target, GateMode::fresh_boot,
                     [&](const GateOutcome& o) { outcomes.push_back(o); });
  }
  lab::InstanceSpec& instance() { return m_instance; }
  [[nodiscard]] pid_t pid() const { return m_pid; }

private:
  testing::TempDir m_dir;
  instance::InstancePaths m_paths{m_dir / "state", m_dir / "run"};
  lab::InstanceSpec m_instance;
  pid_t m_pid = -1;
};

TEST(BootGate, UnderKvmASilentGuestIsStoppedByTheWatchdogWithTheTcgRemedy) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  SilentGuest guest;
  guest.start();
  std::vector<GateOutcome> outcomes;
  const auto started = std::chrono::steady_clock::now();
  const auto s = guest.gates(true, 3s, outcomes);
  ASSERT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s) << "the watchdog did not bound it";
  EXPECT_EQ(s.error().code(), ErrorCode::host);
  EXPECT_NE(s.error().message().find("no boot progress under KVM within 3.0 s"), std::string::npos)
      << s.error().describe();
  EXPECT_NE(s.error().message().find("nothing at all"), std::string::npos);
  EXPECT_NE(s.error().remedy().find("--accel tcg"), std::string::npos);
  ASSERT_EQ(outcomes.size(), 2U);
  EXPECT_TRUE(outcomes[0].passed) << "qemu gate";
  EXPECT_EQ(outcomes[1].gate, "boot");
  EXPECT_FALSE(outcomes[1].passed);
}

TEST(BootGate, UnderTcgTheBootTimeoutDecidesAndNamesItsSetting) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  SilentGuest guest;
  guest.instance().timeouts.boot = 3s;
  guest.start();
  std::vector<GateOutcome> outcomes;
  const auto s = guest.gates(false, 1s, outcomes); // the watchdog applies only under KVM
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::timeout) << s.error().describe();
  EXPECT_NE(s.error().message().find("the guest kernel did not start"), std::string::npos);
  EXPECT_NE(s.error().remedy().find("timeouts.boot"), std::string::npos);
}

TEST(BootGate, QemuDyingBeforeTheKernelIsAQemuErrorNotAWait) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  SilentGuest guest;
  guest.start();
  const pid_t qemu = guest.pid();
  std::thread killer([qemu] {
    std::this_thread::sleep_for(1500ms);
    ::kill(qemu, SIGKILL);
  });
  std::vector<GateOutcome> outcomes;
  const auto started = std::chrono::steady_clock::now();
  const auto s = guest.gates(false, 1s, outcomes); // boot timeout: the default 5 minutes
  killer.join();
  ASSERT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s) << "the gate waited on a dead QEMU";
  EXPECT_EQ(s.error().code(), ErrorCode::qemu) << s.error().describe();
  EXPECT_NE(s.error().message().find("QEMU stopped before the guest kernel started"),
            std::string::npos);
}

} // namespace
} // namespace kvmrun::readiness
