// End to end with the debian-12 guest (images/recipes/debian-12, built from Debian packages)
// under TCG: two instances come up in parallel from one kvmrun, fetched through the image cache
// from a file:// URL with its SHA512SUMS manifest; every gate passes (cloud-init without
// errors, SSH reachable, the extra disk mounted); the seed was applied as seen from inside;
// day-two access: cp both ways, ssh with strictly checked host keys, a forward added at run time.
#include "tests/e2e/lab_harness.hpp"

#include <iostream>
#include <sstream>
#include <thread>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::string debian_lab() {
  const auto guest = build_guest("debian-12");
  return R"([lab]
name = "deb"
[images.debian-12]
url = "file://)" +
         guest.string() + R"(/debian-12.qcow2"
checksum_url = "file://)" +
         guest.string() + R"(/SHA512SUMS"
interface_names = "kvmrun"
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
disks = [{ name = "data", size = "256MiB", filesystem = "ext4", mount = "/srv/data", cache = "none", aio = "native" }]
[instances.db]
image = "debian-12"
forwards = [{ host = 22342, guest = 22 }]
[instances.db-clone]
image = "debian-12"
template = "deb-ready"
forwards = [{ host = 22343, guest = 22 }]
on_clone = ["rm -f /etc/ssh/ssh_host_*_key* && ssh-keygen -A && systemctl restart ssh",
            "rm -f /etc/machine-id && systemd-machine-id-setup >/dev/null"]
)";
}

TEST(Debian12, TwoInstancesInParallelPassEveryGateWithTheirSeedsApplied) {
  Lab lab(debian_lab());
  const auto up = lab.run({"up", "web", "db"});
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
  // kvmrun ssh, as the image's default user and as a declared one, with the lab's key and the
  // host keys read through the agent, checked strictly by ssh; the exit code is ssh's.
  auto ssh = lab.run({"ssh", "web", "--", "cloud-init", "status"});
  ASSERT_EQ(ssh.exit_code, 0) << ssh.err;
  EXPECT_EQ(ssh.out, "status: done\n");
  EXPECT_EQ(lab.run({"ssh", "web", "--user", "alice", "--", "id", "-un"}).out, "alice\n");
  EXPECT_EQ(lab.run({"ssh", "web", "--", "exit", "7"}).exit_code, 7);
  const auto timed = [&](const std::vector<std::string>& args) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(lab.run(args).exit_code, 0);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double check_s = timed({"ssh", "web", "--print"});
  const double true_s = timed({"ssh", "web", "--", "true"});
  std::cout << "kvmrun ssh: host keys checked through the agent (--print) " << check_s
            << " s; `kvmrun ssh web -- true` " << true_s << " s\n";
  const auto known = read_file(lab.state() / "deb" / "web" / "ssh_known_hosts");
  ASSERT_TRUE(known.ok());
  EXPECT_NE(known->find("\nkvmrun.deb.web ssh-ed25519 AAAA"), std::string::npos) << *known;
  const auto printed = lab.run({"ssh", "web", "--print"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const std::string line = printed.out.substr(0, printed.out.find('\n'));
  EXPECT_NE(line.find("StrictHostKeyChecking=yes"), std::string::npos) << line;
  const auto direct = [&](const std::string& command) {
    return run_command({"/bin/sh", "-c", line + " -- " + command},
                       CommandOptions{std::chrono::seconds(60), 1U << 20U})
        .value();
  };
  EXPECT_EQ(direct("hostname").out, "web\n") << "the printed line works on its own";

  // The private key is in its own file only: not in the seeds, argv, logs or evidence.
  const auto key_text = *read_file(lab.state() / "deb" / "ssh" / "id_ed25519");
  std::vector<std::string> key_lines;
  for (std::size_t at = 0; (at = key_text.find('\n', at)) != std::string::npos; ++at)
    key_lines.push_back(key_text.substr(at + 1, 60));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(lab.state() / "deb")) {
    if (!entry.is_regular_file() || entry.path().filename() == "id_ed25519" ||
        entry.file_size() > (64U << 20U))
      continue;
    // Disks of running guests grow meanwhile: read past the size just seen.
    const auto text = read_file(entry.path(), 256U << 20U);
    if (!text) { // a file written aside and renamed meanwhile is gone: fine
      if (std::filesystem::exists(entry.path()))
        ADD_FAILURE() << text.error().describe();
      continue;
    }
    for (std::size_t i = 2; i + 2 < key_lines.size(); ++i) // the lines of the private part
      EXPECT_EQ(text->find(key_lines[i]), std::string::npos) << entry.path();
  }

  // A changed host key is refused: by kvmrun, which says how to accept it, and by ssh itself.
  in_guest(lab, "web", "rm /etc/ssh/ssh_host_* && ssh-keygen -q -A && systemctl restart ssh");
  ssh = lab.run({"ssh", "web", "--", "true"});
  EXPECT_EQ(ssh.exit_code, 9) << ssh.err;
  EXPECT_NE(ssh.err.find("the SSH host keys of web changed since kvmrun read them"),
            std::string::npos)
      << ssh.err;
  EXPECT_NE(ssh.err.find("kvmrun ssh web --reset-host-key"), std::string::npos) << ssh.err;
  auto refused = direct("true");
  EXPECT_EQ(refused.exit_code, 255);
  EXPECT_NE(refused.err.find("Host key verification failed"), std::string::npos) << refused.err;
  ssh = lab.run({"ssh", "web", "--reset-host-key", "--", "true"});
  EXPECT_EQ(ssh.exit_code, 0) << ssh.err;
  EXPECT_EQ(direct("true").exit_code, 0);

  // A forward added at run time serves a guest service, is in status (a later kvmrun), goes.
  in_guest(lab, "web",
           "mkdir -p /var/tmp/www && echo served-by-debian > /var/tmp/www/index.html && "
           "cd /var/tmp/www && setsid -f python3 -m http.server 8000 </dev/null >/dev/null 2>&1");
  auto fwd = lab.run({"forward", "add", "web", "18089:8000"});
  ASSERT_EQ(fwd.exit_code, 0) << fwd.err;
  std::string served;
  for (int i = 0; i < 60 && served.empty(); ++i, std::this_thread::sleep_for(500ms))
    served = http_get(18089, "/index.html");
  EXPECT_EQ(served, "served-by-debian\n");
  EXPECT_NE(lab.run({"status"}).out.find("127.0.0.1:18089->8000"), std::string::npos);
  ASSERT_EQ(lab.run({"forward", "remove", "web", "18089:8000"}).exit_code, 0);
  EXPECT_EQ(http_get(18089, "/index.html"), "");
  EXPECT_EQ(lab.run({"status"}).out.find("18089"), std::string::npos);

  in_guest(lab, "web", "dd if=/dev/zero of=/srv/data/fill bs=1M 2>/dev/null; sync; true");
  cp = lab.run({"cp", host_file.string(), "web:/srv/data/64m.bin"});
  EXPECT_EQ(cp.exit_code, 9) << cp.err;
  EXPECT_NE(cp.err.find("No space left on device"), std::string::npos) << cp.err;
  EXPECT_EQ(in_guest(lab, "web", "ls /srv/data"), "f\nfill\nlost+found\n");

  // db saved as a template, and a clone of it restored: clean cloud-init, the host's clock, its
  // random generator reseeded by the vmgenid change, and its own host keys and machine-id from
  // its on_clone commands (what clones otherwise share with their template).
  ASSERT_EQ(lab.run({"ssh", "db", "--", "true"}).exit_code, 0); // records db's host keys
  const auto machine_id = in_guest(lab, "db", "cat /etc/machine-id");
  const auto saved = lab.run({"template", "save", "db", "deb-ready"});
  std::cout << saved.out;
  ASSERT_EQ(saved.exit_code, 0) << saved.out << saved.err;
  const auto clone = lab.run({"up", "db-clone"});
  std::cout << clone.out;
  ASSERT_EQ(clone.exit_code, 0) << clone.out << clone.err;
  EXPECT_NE(clone.out.find("restored from template deb-ready"), std::string::npos);
  EXPECT_NE(clone.out.find("2 on_clone command(s)"), std::string::npos);
  EXPECT_EQ(in_guest(lab, "db-clone", "cloud-init status"), "status: done\n");
  const auto guest_now = std::stoll(in_guest(lab, "db-clone", "date +%s"));
  const auto host_now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  EXPECT_LE(std::llabs(guest_now - host_now), 2);
  EXPECT_NE(in_guest(lab, "db-clone", "dmesg").find("crng reseeded due to virtual machine fork"),
            std::string::npos);
  EXPECT_EQ(in_guest(lab, "db-clone", "hostname"), "db-clone\n");
  EXPECT_NE(in_guest(lab, "db-clone", "cat /etc/machine-id"), machine_id);
  ssh = lab.run({"ssh", "db-clone", "--", "hostname"});
  EXPECT_EQ(ssh.exit_code, 0) << ssh.err;
  EXPECT_EQ(ssh.out, "db-clone\n");
  const auto clone_keys =
      read_file(lab.state() / "deb" / "db-clone" / "ssh_known_hosts", 1U << 20U);
  const auto db_keys = read_file(lab.state() / "deb" / "db" / "ssh_known_hosts", 1U << 20U);
  ASSERT_TRUE(clone_keys.ok() && db_keys.ok());
  // "ALIAS TYPE KEY" lines: the keys without the alias (which names the instance).
  const auto keys_only = [](const std::string& text) {
    std::string keys;
    std::istringstream lines(text);
    for (std::string l; std::getline(lines, l);)
      if (!l.empty() && l[0] != '#')
        keys += l.substr(l.find(' ')) + "\n";
    return keys;
  };
  EXPECT_FALSE(keys_only(*clone_keys).empty());
  EXPECT_NE(keys_only(*clone_keys), keys_only(*db_keys)) << "on_clone renewed the host keys";

  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  std::cout << down.out;
}

} // namespace
} // namespace kvmrun::testing
