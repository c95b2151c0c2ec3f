// End to end: the "tiny" guest (images/recipes/tiny, built from Debian packages) boots under
// TCG from Debian's kernel with a seed ISO written by kvmrun; the seed is applied (hostname,
// instance-id, runcmd) and the real qemu-guest-agent inside answers.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "images/qcow2.hpp"
#include "instance/seed_image.hpp"
#include "lab/loader.hpp"
#include "qmp/agent_commands.hpp"
#include "qmp/commands.hpp"
#include "tests/support/qemu_process.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <thread>

namespace kvmrun {
namespace {

using namespace std::chrono_literals;

std::filesystem::path cache_dir() {
  if (const char* c = std::getenv("KVMRUN_CACHE_DIR"))
    return c;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : "/tmp") / ".cache" / "kvmrun";
}

TEST(TinyGuest, BootsAppliesItsSeedAndRunsTheGuestAgent) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  const auto built =
      run_command({KVMRUN_SOURCE_DIR "/images/recipes/tiny/build", cache_dir().string()},
                  CommandOptions{std::chrono::minutes(10), 1U << 20U});
  ASSERT_TRUE(built.ok() && built->success())
      << (built.ok() ? built->err : built.error().describe());
  const std::filesystem::path guest = built->out.substr(0, built->out.find('\n'));

  const auto lab = lab::parse_lab(R"(
[images.tiny]
url = "/unused"
checksum = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
interface_names = "kvmrun"
[instances.tiny-1]
image = "tiny"
disks = [{ name = "data", size = "64MiB", mount = "/srv/data" }]
[instances.tiny-1.cloud_init]
runcmd = ["echo hello-from-runcmd > /var/lib/kvmrun/marker"]
)",
                                  "tiny.toml");
  ASSERT_TRUE(lab.ok()) << lab.error().describe();
  const auto seed = instance::build_seed_image(lab->instances[0]);
  ASSERT_TRUE(seed.ok());

  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "seed.iso", seed->iso).ok());
  ASSERT_TRUE(images::create_qcow2(dir / "data.qcow2",
                                   images::Qcow2Spec{64ULL << 20U, 16, "", DiskFormat::qcow2})
                  .ok());
  const auto serial = dir / "serial.log";
  const auto qga = dir / "qga.sock";
  testing::QemuProcess qemu(
      "q35",
      {"-m",
       "256",
       "-kernel",
       (guest / "vmlinuz").string(),
       "-initrd",
       (guest / "initrd.img").string(),
       "-append",
       "console=ttyS0",
       "-serial",
       "file:" + serial.string(),
       "-blockdev",
       "driver=file,filename=" + (dir / "seed.iso").string() + ",node-name=seedfile,read-only=on",
       "-blockdev",
       "driver=raw,file=seedfile,node-name=seed,read-only=on",
       "-device",
       "virtio-blk-pci,drive=seed",
       "-blockdev",
       "driver=file,filename=" + (dir / "data.qcow2").string() + ",node-name=datafile",
       "-blockdev",
       "driver=qcow2,file=datafile,node-name=data",
       "-device",
       "virtio-blk-pci,drive=data,serial=data",
       "-device",
       "virtio-serial-pci",
       "-chardev",
       "socket,id=qga,path=" + qga.string() + ",server=on,wait=off",
       "-device",
       "virtserialport,chardev=qga,name=org.qemu.guest_agent.0"});
  EventLoop loop;
  qmp::QmpClient monitor(loop);
  ASSERT_TRUE(monitor.connect_sync(qemu.qmp_socket(), deadline_after(30s)).ok());

  // Boot progress on the serial console (the file QEMU writes; polled, bounded: test only).
  const auto started = Clock::now();
  std::string log;
  const std::string marker = "kvmrun-ready instance-id=" + seed->documents.instance_id;
  while (Clock::now() - started < 120s && log.find(marker) == std::string::npos) {
    std::this_thread::sleep_for(100ms);
    if (auto text = read_file(serial))
      log = std::move(text).value();
  }
  ASSERT_NE(log.find(marker), std::string::npos) << "serial log:\n" << log;
  EXPECT_NE(log.find("hostname=tiny-1"), std::string::npos);
  std::cout << "tiny guest: ready marker after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
            << " ms of QEMU runtime\n";

  qmp::AgentClient agent(loop);
  ASSERT_TRUE(agent.connect(qga).ok());
  ASSERT_TRUE(qmp::guest_ping(agent, deadline_after(30s)).ok());
  const auto marker_file =
      qmp::guest_run(agent, "/bin/cat", {"/var/lib/kvmrun/marker"}, deadline_after(30s));
  ASSERT_TRUE(marker_file.ok()) << marker_file.error().describe();
  EXPECT_EQ(marker_file->out, "hello-from-runcmd\n");
  const auto host = qmp::guest_run(agent, "/bin/hostname", {}, deadline_after(30s));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->out, "tiny-1\n");
  const auto id = qmp::guest_read_file(agent, "/var/lib/kvmrun/instance-id", deadline_after(30s));
  ASSERT_TRUE(id.ok()) << id.error().describe();
  EXPECT_EQ(*id, seed->documents.instance_id + "\n");

  // The extra disk was given a filesystem and mounted where the lab said; the guest writes to it.
  const auto mounts = qmp::guest_read_file(agent, "/proc/mounts", deadline_after(30s));
  ASSERT_TRUE(mounts.ok());
  EXPECT_NE(mounts->find("/dev/vd"), std::string::npos);
  EXPECT_NE(mounts->find(" /srv/data "), std::string::npos) << *mounts << "serial:\n"
                                                            << *read_file(serial);
  const auto wrote = qmp::guest_run(agent, "/bin/sh", {"-c", "echo kept > /srv/data/f && sync"},
                                    deadline_after(30s));
  ASSERT_TRUE(wrote.ok() && wrote->exit_code == 0);

  // The agent powers the guest off; QEMU reports the shutdown.
  ASSERT_TRUE(qmp::guest_shutdown(agent, "powerdown", deadline_after(10s)).ok());
  EXPECT_TRUE(monitor.wait_event_sync("SHUTDOWN", deadline_after(60s)).ok());
  (void)qmp::quit(monitor, deadline_after(10s));
}

} // namespace
} // namespace kvmrun
