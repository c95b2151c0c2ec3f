// kvmrun killed (SIGKILL: no cleanup of its own) at the steps the other tests do not reach:
// as `up` starts provisioning, and while `template save` streams the paused guest's state; and
// what a crashed host leaves behind (stale sockets, an unheld lock, records naming dead pids).
// Afterwards `status`, `check`, `up`, `template` and `down` work as if nothing had happened:
// the paused guest is resumed by the next command that finds it, the partial template is
// removed, nothing is listed that was not finished, and nothing is left after `down`.
// Levels proven: PROC (no QEMU or runtime file left), DATA (overlay clean), META (no partial
// template kept or listed), DIAG.
#include "tests/e2e/lab_harness.hpp"

#include <sys/un.h>

#include <cstdio>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

TEST(TinyKvmrunKilled, DuringProvisioningTheNextUpBringsTheInstanceUp) {
  Lab lab(one_tiny_lab("kprov"));
  {
    BackgroundProcess up(lab.argv({"up"}));
    ASSERT_TRUE(up.wait_for_line("stage provision", 120s));
    ::kill(up.pid(), SIGKILL);
    ASSERT_TRUE(up.wait_exit(10s));
  }
  const auto status = lab.run({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("tiny-1       ok   provenance"), std::string::npos) << up.out;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_TRUE(qemus_of("kprov").empty());
  EXPECT_TRUE(runtime_empty(lab));
  EXPECT_TRUE(qemu_img_clean(lab.state() / "kprov" / "tiny-1" / "disk.qcow2"));
}

TEST(TinyKvmrunKilled, WhileSavingATemplateTheGuestIsResumedAndNothingHalfMadeIsKept) {
  Lab lab(one_tiny_lab("ksave"));
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const pid_t qemu = pid_from(up.out, "tiny-1");
  const auto templates = lab.cache() / "templates";
  {
    BackgroundProcess save(lab.argv({"template", "save", "tiny-1", "ready", "--resume"}));
    ASSERT_TRUE(save.wait_for_line("  tiny-1: saving RAM and device state", 120s));
    ::kill(save.pid(), SIGKILL);
    ASSERT_TRUE(save.wait_exit(10s));
  }
  EXPECT_TRUE(alive(qemu));
  auto list = lab.run({"template", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find("ready"), std::string::npos) << "an unfinished template is listed";
  const auto status = lab.run({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;

  // The next command that finds the instance resumes the guest the killed save paused.
  const auto check = lab.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  std::error_code ec;
  EXPECT_EQ(std::filesystem::directory_iterator(templates, ec),
            std::filesystem::directory_iterator())
      << "the partial template was left";
  const auto again = lab.run({"up"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(alive(qemu));
  EXPECT_EQ(qemus_of("ksave"), std::vector<pid_t>{qemu}) << "the same QEMU, re-proven";

  // And a save now works, from the same running instance.
  const auto saved = lab.run({"template", "save", "tiny-1", "ready", "--resume"}, 5min);
  EXPECT_EQ(saved.exit_code, 0) << saved.out << saved.err;
  list = lab.run({"template", "list"});
  EXPECT_NE(list.out.find("ready"), std::string::npos) << list.out;
  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_FALSE(alive(qemu));
  EXPECT_TRUE(qemus_of("ksave").empty());
  EXPECT_TRUE(runtime_empty(lab));
  EXPECT_TRUE(qemu_img_clean(lab.state() / "ksave" / "tiny-1" / "disk.qcow2"));
}

// What a host crash leaves in a runtime directory (kept on disk, not a tmpfs): sockets nobody
// listens on, a lock nobody holds, records naming a dead pid and pid 1. None is taken for a
// running instance, pid 1 is never signalled, and the next up replaces them all.
TEST(TinyKvmrunKilled, StaleSocketsLocksAndRecordsAreReplacedByTheNextUp) {
  Lab lab(one_tiny_lab("kstale"));
  const auto runtime = lab.runtime() / "kstale" / "tiny-1";
  std::filesystem::create_directories(runtime);
  for (const char* name : {"qmp.sock", "qmp-up.sock", "qga.sock", "serial.sock"}) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto path = (runtime / name).string();
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0) << path;
    ::close(fd); // the file stays, nobody listens
  }
  write_file(runtime / "lock", "1\n");
  write_file(runtime / "up.pid", "999999\n");
  write_file(runtime / "saving.pid", "1\n");

  const auto status = lab.run({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_EQ(status.out.find("running"), std::string::npos) << status.out;
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("tiny-1       ok   provenance"), std::string::npos) << up.out;
  EXPECT_TRUE(alive(1));
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_TRUE(runtime_empty(lab));
  EXPECT_TRUE(qemus_of("kstale").empty());
}

TEST(TinyKvmrunKilled, APausedGuestIsStoppedWithoutWaitingOnAcpi) {
  Lab lab(one_tiny_lab("kpause", "shutdown = \"20s\""));
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const auto stop = lab.run({"qmp", "tiny-1", "stop"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  const auto started = std::chrono::steady_clock::now();
  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
  EXPECT_NE(down.out.find("tiny-1: stopped (quit"), std::string::npos) << down.out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "it waited for ACPI";
  EXPECT_TRUE(qemus_of("kpause").empty());
}

} // namespace
} // namespace kvmrun::testing
