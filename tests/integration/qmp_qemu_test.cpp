// The QMP client against a real qemu-system-x86_64: -machine none, and a paused q35 guest.
#include "images/qcow2.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"
#include "tests/support/qemu_process.hpp"

#include <gtest/gtest.h>

#include <signal.h>

namespace kvmrun::qmp {
namespace {

using namespace std::chrono_literals;

#define REQUIRE_QEMU()                                                                             \
  if (!testing::have_qemu())                                                                       \
  GTEST_SKIP() << "qemu-system-x86_64 is not installed"

// Connects and negotiates, failing the test with QMP's error otherwise.
void connect(QmpClient& client, testing::QemuProcess& qemu) {
  const auto connected = client.connect_sync(qemu.qmp_socket(), deadline_after(20s));
  ASSERT_TRUE(connected.ok()) << connected.error().describe();
}

TEST(QmpWithQemu, GreetsNegotiatesAndAnswers) {
  REQUIRE_QEMU();
  testing::QemuProcess qemu("none");
  ASSERT_TRUE(qemu.started());
  EventLoop loop;
  QmpClient client(loop);
  ASSERT_NO_FATAL_FAILURE(connect(client, qemu));
  EXPECT_GE(client.greeting().at("version").at("qemu").at("major").as_int64(), 6);
  const auto status = query_status(client, deadline_after(5s));
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_FALSE(status->status.empty());
  const auto version = human_monitor_command(client, "info version", deadline_after(5s));
  ASSERT_TRUE(version.ok());
  EXPECT_FALSE(version->empty());
  EXPECT_TRUE(query_cpus_fast(client, deadline_after(5s)).ok());
}

TEST(QmpWithQemu, AnUnknownCommandReportsCommandNotFound) {
  REQUIRE_QEMU();
  testing::QemuProcess qemu("none");
  EventLoop loop;
  QmpClient client(loop);
  ASSERT_NO_FATAL_FAILURE(connect(client, qemu));
  const auto r = client.execute_sync("no-such-command", {}, deadline_after(5s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::qemu);
  EXPECT_NE(r.error().message().find("CommandNotFound"), std::string::npos) << r.error().message();
  EXPECT_TRUE(query_status(client, deadline_after(5s)).ok()) << "the connection stays usable";
}

TEST(QmpWithQemu, QuitEndsQemuAndItsEventsAreNotMistakenForTheReply) {
  REQUIRE_QEMU();
  testing::QemuProcess qemu("none");
  EventLoop loop;
  QmpClient client(loop);
  ASSERT_NO_FATAL_FAILURE(connect(client, qemu));
  ASSERT_TRUE(quit(client, deadline_after(10s)).ok());
  const auto exited = qemu.process().wait_exit(10s);
  ASSERT_TRUE(exited.has_value()) << "QEMU is still running after quit";
  EXPECT_TRUE(WIFEXITED(*exited));
  for (const auto& e : client.take_events())
    EXPECT_EQ(e.name, "SHUTDOWN");
  const auto after = query_status(client, deadline_after(2s));
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.error().describe().find("connection lost"), std::string::npos)
      << after.error().describe();
}

TEST(QmpWithQemu, AQemuKilledBeforeItsGreetingFailsTheConnectPromptly) {
  REQUIRE_QEMU();
  testing::QemuProcess qemu("none");
  ::kill(qemu.process().pid(), SIGKILL);
  (void)qemu.process().wait_exit(10s);
  EventLoop loop;
  QmpClient client(loop);
  const auto started = Clock::now();
  const auto r = client.connect_sync(qemu.qmp_socket(), deadline_after(20s));
  EXPECT_FALSE(r.ok());
  EXPECT_LT(Clock::now() - started, 5s);
}

class PausedGuest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!testing::have_qemu())
      GTEST_SKIP() << "qemu-system-x86_64 is not installed";
    disk = std::make_unique<testing::TempDir>();
    ASSERT_TRUE(images::create_qcow2(disk->path() / "root.qcow2",
                                     images::Qcow2Spec{64 << 20, 16, "", DiskFormat::qcow2})
                    .ok());
    qemu = std::make_unique<testing::QemuProcess>(
        "q35",
        std::vector<std::string>{"-S", "-m", "128", "-blockdev",
                                 "driver=file,filename=" + (disk->path() / "root.qcow2").string() +
                                     ",node-name=file0",
                                 "-blockdev", "driver=qcow2,file=file0,node-name=disk0", "-device",
                                 "virtio-blk-pci,drive=disk0,id=vda"});
    ASSERT_TRUE(client.connect_sync(qemu->qmp_socket(), deadline_after(30s)).ok());
  }
  void TearDown() override {
    if (qemu)
      (void)quit(client, deadline_after(10s));
  }

  std::unique_ptr<testing::TempDir> disk;
  std::unique_ptr<testing::QemuProcess> qemu;
  EventLoop loop;
  QmpClient client{loop};
};

TEST_F(PausedGuest, StartsPausedThenRunsAndStopsWithEvents) {
  auto status = query_status(client, deadline_after(5s));
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->running);
  EXPECT_EQ(status->status, "prelaunch");
  ASSERT_TRUE(cont(client, deadline_after(5s)).ok());
  EXPECT_TRUE(client.wait_event_sync("RESUME", deadline_after(5s)).ok());
  EXPECT_TRUE(query_status(client, deadline_after(5s))->running);
  ASSERT_TRUE(stop(client, deadline_after(5s)).ok());
  EXPECT_TRUE(client.wait_event_sync("STOP", deadline_after(5s)).ok());
  EXPECT_EQ(query_status(client, deadline_after(5s))->status, "paused");
}

TEST_F(PausedGuest, QueryBlockShowsTheDiskWithItsFormat) {
  const auto blocks = query_block(client, deadline_after(5s));
  ASSERT_TRUE(blocks.ok());
  bool found = false;
  for (const auto& b : *blocks) {
    const auto& o = b.as_object();
    if (const auto* inserted = o.if_contains("inserted")) {
      found = true;
      EXPECT_EQ(inserted->at("node-name").as_string(), "disk0");
      EXPECT_EQ(inserted->at("drv").as_string(), "qcow2");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(PausedGuest, InternalSnapshotsAreSavedListedLoadedAndDeleted) {
  ASSERT_TRUE(cont(client, deadline_after(5s)).ok());
  const std::vector<std::string> devices{"disk0"};
  const auto saved = snapshot_save(client, "before", "disk0", devices, deadline_after(60s));
  ASSERT_TRUE(saved.ok()) << saved.error().describe();
  auto snaps = list_snapshots(client, "disk0", deadline_after(5s));
  ASSERT_TRUE(snaps.ok()) << snaps.error().describe();
  ASSERT_EQ(snaps->size(), 1U);
  EXPECT_EQ((*snaps)[0].name, "before");
  EXPECT_GT((*snaps)[0].vm_state_size, 0U);
  const auto loaded = snapshot_load(client, "before", "disk0", devices, deadline_after(60s));
  ASSERT_TRUE(loaded.ok()) << loaded.error().describe();
  const auto missing = snapshot_load(client, "nope", "disk0", devices, deadline_after(60s));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::qemu);
  ASSERT_TRUE(snapshot_delete(client, "before", devices, deadline_after(60s)).ok());
  EXPECT_TRUE(list_snapshots(client, "disk0", deadline_after(5s))->empty());
}

TEST_F(PausedGuest, PowerdownIsDeliveredAsAnEvent) {
  ASSERT_TRUE(cont(client, deadline_after(5s)).ok());
  ASSERT_TRUE(system_powerdown(client, deadline_after(5s)).ok());
  EXPECT_TRUE(client.wait_event_sync("POWERDOWN", deadline_after(5s)).ok());
}

TEST(QmpWithQemu, OneLoopDrivesEightQemusAtOnce) {
  REQUIRE_QEMU();
  std::vector<std::unique_ptr<testing::QemuProcess>> qemus;
  EventLoop loop;
  std::vector<std::unique_ptr<QmpClient>> clients;
  std::size_t ready = 0, failed = 0;
  std::string why; // what a failed connection said (seen once in CI: 7 of 8 within 155 ms)
  for (int i = 0; i < 8; ++i) {
    qemus.push_back(std::make_unique<testing::QemuProcess>("none"));
    clients.push_back(std::make_unique<QmpClient>(loop));
    clients.back()->connect(qemus.back()->qmp_socket(), deadline_after(60s), [&, i](Status s) {
      if (s.ok()) {
        ++ready;
      } else {
        ++failed;
        why += "QEMU " + std::to_string(i) + ": " + s.error().describe() + "\n";
      }
    });
  }
  ASSERT_TRUE(loop.run_until([&] { return ready + failed == 8; }, deadline_after(90s)));
  ASSERT_EQ(ready, 8U) << why;
  std::size_t answered = 0;
  for (int round = 0; round < 50; ++round)
    for (auto& c : clients)
      c->execute("query-status", {}, deadline_after(30s), [&](Result<boost::json::value> r) {
        if (r.ok())
          ++answered;
      });
  ASSERT_TRUE(loop.run_until([&] { return answered == 400; }, deadline_after(60s)));
  for (auto& c : clients)
    (void)quit(*c, deadline_after(10s));
}

} // namespace
} // namespace kvmrun::qmp
