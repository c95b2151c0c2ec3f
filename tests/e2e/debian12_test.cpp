// End to end with the debian-12 guest (images/recipes/debian-12, built from Debian packages)
// under TCG: two instances come up in parallel from one kvmrun, fetched through the image cache
// from a file:// URL with its SHA512SUMS manifest; every gate passes (cloud-init without
// errors, SSH reachable, the extra disk mounted); the seed was applied as seen from inside.
#include "tests/e2e/lab_harness.hpp"

#include <iostream>

namespace kvmrun::testing {
namespace {

std::string debian_lab() {
  const auto guest = build_guest("debian-12");
  return R"([lab]
name = "deb"
[images.debian-12]
url = "file://)" +
         guest.string() + R"(/debian-12.qcow2"
checksum_url = "file://)" +
         guest.string() + R"(/SHA512SUMS"
[defaults]
cpus = 1
memory = "768MiB"
disk = "3GiB"
[defaults.cloud_init]
runcmd = ["echo runcmd-ran > /var/tmp/runcmd-marker"]
write_files = [{ path = "/etc/kvmrun-test", content = "from write_files\n" }]
[[defaults.cloud_init.users]]
name = "alice"
sudo = true
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmbw5Y0xOJa5KJZaiQ3hOq1h0F4t8vYpUZ6bX7qgEfW t@example"]
[instances.web]
image = "debian-12"
forwards = [{ host = 22341, guest = 22 }]
disks = [{ name = "data", size = "256MiB", filesystem = "ext4", mount = "/srv/data" }]
[instances.db]
image = "debian-12"
forwards = [{ host = 22342, guest = 22 }]
)";
}

std::string in_guest(const Lab& lab, const std::string& instance, const std::string& script) {
  const auto r = lab.run({"exec", instance, "--", "/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << script << "\n" << r.err;
  return r.out;
}

TEST(Debian12, TwoInstancesInParallelPassEveryGateWithTheirSeedsApplied) {
  Lab lab(debian_lab());
  const auto up = lab.run({"up"});
  std::cout << up.out;
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  for (const std::string inst : {"web", "db"})
    for (const char* gate : {"agent", "ports", "addresses", "cloud-init", "provenance"})
      EXPECT_NE(up.out.find(inst + std::string(8 - inst.size() + 4, ' ') + " ok   " + gate),
                std::string::npos)
          << inst << " " << gate;

  for (const std::string inst : {"web", "db"}) {
    EXPECT_EQ(in_guest(lab, inst, "hostname"), inst + "\n");
    EXPECT_EQ(in_guest(lab, inst, "id -un alice"), "alice\n");
    EXPECT_EQ(in_guest(lab, inst, "cat /etc/kvmrun-test"), "from write_files\n");
    EXPECT_EQ(in_guest(lab, inst, "cat /var/tmp/runcmd-marker"), "runcmd-ran\n");
    const auto status = in_guest(lab, inst, "cloud-init status --wait --long");
    EXPECT_NE(status.find("status: done"), std::string::npos) << status;
    EXPECT_EQ(in_guest(lab, inst,
                       "python3 -c 'import json; print(json.load(open("
                       "\"/run/cloud-init/result.json\"))[\"v1\"][\"errors\"])'"),
              "[]\n");
    // growpart grew the root to the instance's disk size (3 GiB over a 2 GiB base).
    const auto size = in_guest(lab, inst, "df --output=size -B1M / | tail -n1");
    EXPECT_GT(std::stoi(size), 2500) << size;
  }
  EXPECT_NE(in_guest(lab, "web", "findmnt -n -o SOURCE,FSTYPE /srv/data").find("ext4"),
            std::string::npos);
  EXPECT_EQ(in_guest(lab, "web", "echo kept > /srv/data/f && cat /srv/data/f"), "kept\n");

  // kvmrun cp: 64 MiB both ways, byte-exact, timed; a full guest disk leaves nothing behind.
  const auto host_file = lab.state() / "64m.bin";
  ASSERT_TRUE(
      run_command({"/bin/sh", "-c", "head -c 67108864 /dev/urandom > " + host_file.string()})
          ->success());
  auto started = std::chrono::steady_clock::now();
  auto cp = lab.run({"cp", host_file.string(), "web:/var/tmp/64m.bin"});
  const double up_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  started = std::chrono::steady_clock::now();
  cp = lab.run({"cp", "web:/var/tmp/64m.bin", (lab.state() / "64m.back").string()});
  const double down_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  EXPECT_EQ(*read_file(lab.state() / "64m.back", 128U << 20U), *read_file(host_file, 128U << 20U));
  std::cout << "kvmrun cp 64 MiB: to the guest " << up_s << " s (" << 64 / up_s << " MiB/s), back "
            << down_s << " s (" << 64 / down_s << " MiB/s)\n";
  in_guest(lab, "web", "dd if=/dev/zero of=/srv/data/fill bs=1M 2>/dev/null; sync; true");
  cp = lab.run({"cp", host_file.string(), "web:/srv/data/64m.bin"});
  EXPECT_EQ(cp.exit_code, 9) << cp.err;
  EXPECT_NE(cp.err.find("No space left on device"), std::string::npos) << cp.err;
  EXPECT_EQ(in_guest(lab, "web", "ls /srv/data"), "f\nfill\nlost+found\n");

  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  std::cout << down.out;
}

} // namespace
} // namespace kvmrun::testing
