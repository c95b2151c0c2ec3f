// What a running tiny instance exposes, read from /proc and the file system: QEMU under its
// seccomp sandbox with no way to gain privileges, the runtime directory 0700 with 0600 sockets,
// state and evidence files unreadable by others, forwards bound to 127.0.0.1 only, and no
// password (nor its hash) in QEMU's argv or environment, a world-readable file, a log or the
// evidence. QEMU runs as the user kvmrun runs as, and never as root: kvmrun run as root (as the
// suite is in CI) starts it as "nobody" (KVMRUN_QEMU_USER), with no capabilities, its files
// handed to that user (instance/qemu_user.hpp).
// Levels proven: SECRETS (argv, environment, files, logs, evidence), PROC (the sandbox and the
// credentials hold).
#include "instance/qemu_user.hpp"
#include "tests/e2e/lab_harness.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace kvmrun::testing {
namespace {

std::string proc_file(pid_t pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "Uid:\t1\t2\t3\t4" -> {1, 2, 3, 4} from /proc/PID/status's `key` line.
std::vector<unsigned long> ids_of(const std::string& status, const std::string& key) {
  std::vector<unsigned long> ids;
  const auto at = status.find("\n" + key + ":\t");
  if (at == std::string::npos)
    return ids;
  std::istringstream line(status.substr(at + key.size() + 3, status.find('\n', at + 1) - at));
  for (unsigned long id = 0; line >> id;)
    ids.push_back(id);
  return ids;
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(TinyConfinement, QemuIsSandboxedFilesArePrivateForwardsLocalAndNoSecretLeaks) {
  const std::string password = "correct-horse-battery-staple-41";
  const int port = unused_port();
  Lab lab("[lab]\nname = \"conf\"\n" + tiny_image_section() + R"([instances.tiny-1]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s" }
[instances.tiny-1.cloud_init]
users = [{ name = "alice", password = ")" +
          password + R"(" }]
)");
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const pid_t qemu = pid_from(up.out, "tiny-1");
  ASSERT_GT(qemu, 0);
  // A forward (added at run time: nothing in the tiny guest serves a port for the ports gate).
  const auto forward = lab.run({"forward", "add", "tiny-1", std::to_string(port) + ":7"});
  ASSERT_EQ(forward.exit_code, 0) << forward.err;

  // Seccomp filter mode, no new privileges, and the sandbox's options on its command line.
  const auto status = proc_file(qemu, "status");
  EXPECT_NE(status.find("\nSeccomp:\t2\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nNoNewPrivs:\t1\n"), std::string::npos) << status;
  const auto cmdline = proc_file(qemu, "cmdline");
  EXPECT_NE(cmdline.find(std::string("-sandbox") + '\0' +
                         "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny" +
                         '\0'),
            std::string::npos);

  // Its user: kvmrun's, or "nobody" with nobody's group alone and no capabilities for root's.
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (uid == 0) {
    const auto passwd = read_file("/etc/passwd", 1U << 20U);
    ASSERT_TRUE(passwd.ok());
    const auto nobody = instance::find_user(*passwd, "nobody");
    ASSERT_TRUE(nobody.has_value());
    uid = nobody->uid;
    gid = nobody->gid;
    EXPECT_NE(status.find("\nCapEff:\t0000000000000000\n"), std::string::npos) << status;
    EXPECT_NE(status.find("\nCapPrm:\t0000000000000000\n"), std::string::npos) << status;
    EXPECT_EQ(ids_of(status, "Groups"), std::vector<unsigned long>{gid}) << status;
  }
  EXPECT_EQ(ids_of(status, "Uid"), std::vector<unsigned long>(4, uid)) << status;
  EXPECT_EQ(ids_of(status, "Gid"), std::vector<unsigned long>(4, gid)) << status;
  struct stat disk {};
  ASSERT_EQ(::stat((lab.state() / "conf" / "tiny-1" / "disk.qcow2").c_str(), &disk), 0);
  EXPECT_EQ(disk.st_uid, uid);

  // The runtime directory and everything in it: the user's only.
  const auto runtime = lab.runtime() / "conf" / "tiny-1";
  EXPECT_EQ(mode_of(runtime), 0700U);
  for (const auto& e : std::filesystem::directory_iterator(runtime))
    EXPECT_EQ(mode_of(e.path()) & 077U, 0U) << e.path() << " is open to others";
  // State, keys and evidence: nothing readable or writable by others (a directory QEMU's user
  // passes through is passable, g+x and o+x, never listable).
  for (const auto& e : std::filesystem::recursive_directory_iterator(lab.state())) {
    if (e.is_symlink())
      continue;
    const mode_t open_bits = e.is_directory() ? 066U : 077U;
    EXPECT_EQ(mode_of(e.path()) & open_bits, 0U) << e.path() << " is open to others";
  }

  // The forward listens on the loopback address only (/proc/net/tcp: 0100007F is 127.0.0.1).
  char hex_port[8];
  std::snprintf(hex_port, sizeof hex_port, "%04X", port);
  const auto tcp = read_file("/proc/net/tcp", 4U << 20U);
  ASSERT_TRUE(tcp.ok());
  EXPECT_NE(tcp->find("0100007F:" + std::string(hex_port) + " 00000000:0000 0A"), std::string::npos)
      << "no listener on 127.0.0.1:" << port;
  EXPECT_EQ(tcp->find("00000000:" + std::string(hex_port) + " 00000000:0000 0A"), std::string::npos)
      << "a listener on 0.0.0.0:" << port;

  // The password never appears; its hash only in the seed, which is the user's alone.
  const auto seed = read_file(lab.state() / "conf" / "tiny-1" / "seed.iso", 16U << 20U);
  ASSERT_TRUE(seed.ok());
  const auto at = seed->find("$6$");
  ASSERT_NE(at, std::string::npos) << "the seed holds the hashed password";
  const std::string hash = seed->substr(at, seed->find_first_of("\"\n ", at) - at);
  EXPECT_EQ(cmdline.find(password), std::string::npos);
  EXPECT_EQ(cmdline.find(hash), std::string::npos);
  const auto environ_text = proc_file(qemu, "environ");
  EXPECT_EQ(environ_text.find(password), std::string::npos);
  EXPECT_EQ(environ_text.find(hash), std::string::npos);
  for (const auto& e : std::filesystem::recursive_directory_iterator(lab.state())) {
    if (!e.is_regular_file() || e.path().filename() == "seed.iso" || e.file_size() > (64U << 20U))
      continue;
    const auto text = read_file(e.path(), 256U << 20U);
    if (!text)
      continue; // a disk that grew meanwhile
    EXPECT_EQ(text->find(password), std::string::npos) << e.path();
    EXPECT_EQ(text->find(hash), std::string::npos) << e.path();
  }
  EXPECT_EQ(up.out.find(password), std::string::npos);
  EXPECT_EQ(up.err.find(password), std::string::npos);
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
}

} // namespace
} // namespace kvmrun::testing
