// Who QEMU runs as when kvmrun is root, and the files handed to that user: the passwd lookup,
// its errors, a real tree handed over (checked by reading and writing as that user through
// setpriv(1), not by re-reading modes), what stays closed, and a child really started as the
// user. The tree tests need root (they change owners) and say so when skipped.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "instance/qemu_user.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

namespace kvmrun::instance {
namespace {

using testing::TempDir;

host::EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

constexpr const char* passwd_text = "root:x:0:0:root:/root:/bin/bash\n"
                                    "broken line\n"
                                    "odd:x:notanumber:5::/:/bin/false\n"
                                    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                                    "kvmrun-qemu:x:998:997::/:/usr/sbin/nologin";

TEST(QemuUser, FindsUsersInPasswdTextSkippingMalformedLines) {
  const auto nobody = find_user(passwd_text, "nobody");
  ASSERT_TRUE(nobody.has_value());
  EXPECT_EQ(nobody->uid, 65534U);
  EXPECT_EQ(nobody->gid, 65534U);
  const auto last = find_user(passwd_text, "kvmrun-qemu"); // no newline at the end
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->uid, 998U);
  EXPECT_FALSE(find_user(passwd_text, "odd").has_value());
  EXPECT_FALSE(find_user(passwd_text, "broken line").has_value());
  EXPECT_FALSE(find_user(passwd_text, "nob").has_value());
  EXPECT_FALSE(find_user("", "nobody").has_value());
}

TEST(QemuUser, OnlyRootsKvmrunChangesQemusUserAndNeverToRoot) {
  const TempDir dir;
  const auto passwd = dir.path() / "passwd";
  ASSERT_TRUE(write_file_atomic(passwd, passwd_text, 0644).ok());

  const auto user = qemu_run_as(env({}), 1000, 5, passwd);
  ASSERT_TRUE(user.ok());
  EXPECT_FALSE(user->has_value()) << "QEMU runs as kvmrun's own user";

  const auto root = qemu_run_as(env({}), 0, std::nullopt, passwd);
  ASSERT_TRUE(root.ok()) << root.error().describe();
  ASSERT_TRUE(root->has_value());
  EXPECT_EQ((*root)->user, "nobody");
  EXPECT_EQ((*root)->ids.uid, 65534U);
  EXPECT_EQ((*root)->ids.groups, std::vector<gid_t>{65534});

  const auto named = qemu_run_as(env({{"KVMRUN_QEMU_USER", "kvmrun-qemu"}}), 0, 105, passwd);
  ASSERT_TRUE(named.ok() && named->has_value());
  EXPECT_EQ((*named)->ids.uid, 998U);
  EXPECT_EQ((*named)->ids.gid, 997U);
  EXPECT_EQ((*named)->ids.groups, (std::vector<gid_t>{997, 105})) << "with /dev/kvm's group";

  const auto missing = qemu_run_as(env({{"KVMRUN_QEMU_USER", "qemu"}}), 0, std::nullopt, passwd);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::host);
  EXPECT_NE(missing.error().message().find("'qemu' is not in " + passwd.string()),
            std::string::npos);
  EXPECT_NE(missing.error().remedy().find("useradd --system"), std::string::npos);

  const auto as_root = qemu_run_as(env({{"KVMRUN_QEMU_USER", "root"}}), 0, std::nullopt, passwd);
  ASSERT_FALSE(as_root.ok());
  EXPECT_NE(as_root.error().message().find("never runs QEMU as root"), std::string::npos);

  const auto unreadable = qemu_run_as(env({}), 0, std::nullopt, dir.path() / "none");
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.error().describe().find("looking up QEMU's user 'nobody'"),
            std::string::npos);
}

// The tree a root kvmrun keeps: its three directories (0700, as it makes them) inside a
// directory it does not own, with an instance, a base image and a file outside them.
class HandOver : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "handing files to another user needs root";
    const auto passwd = read_file("/etc/passwd", 1U << 20U);
    ASSERT_TRUE(passwd.ok());
    const auto nobody = find_user(*passwd, "nobody");
    ASSERT_TRUE(nobody.has_value()) << "this host has no user 'nobody'";
    m_as = RunAs{"nobody", Credentials{nobody->uid, nobody->gid, {nobody->gid}}};
    m_dirs = {m_dir.path() / "cache", m_dir.path() / "state", m_dir.path() / "run",
              m_dir.path() / "state"};
    ASSERT_TRUE(create_private_dirs(instance_dir()).ok());
    ASSERT_TRUE(create_private_dirs(m_dirs.cache / "images").ok());
    ASSERT_TRUE(create_private_dirs(m_dir.path() / "outside").ok());
    ASSERT_TRUE(write_file_atomic(disk(), "disk", 0600).ok());
    ASSERT_TRUE(write_file_atomic(base(), "base", 0600).ok());
    ASSERT_TRUE(write_file_atomic(m_dir.path() / "outside" / "vmlinuz", "kernel", 0644).ok());
    ASSERT_TRUE(write_file_atomic(m_dir.path() / "secret", "secret", 0600).ok());
  }

  [[nodiscard]] std::filesystem::path instance_dir() const { return m_dirs.state / "lab" / "vm"; }
  [[nodiscard]] std::filesystem::path disk() const { return instance_dir() / "disk.qcow2"; }
  [[nodiscard]] std::filesystem::path base() const { return m_dirs.cache / "images" / "base"; }

  // A shell command as the user, as QEMU would run: its exit code.
  [[nodiscard]] int as_user(const std::string& script) const {
    const auto r = run_command({"setpriv", "--reuid=" + std::to_string(m_as.ids.uid),
                                "--regid=" + std::to_string(m_as.ids.gid), "--clear-groups", "sh",
                                "-c", script});
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? r->exit_code : -1;
  }

  TempDir m_dir;
  RunAs m_as;
  host::Dirs m_dirs;
};

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777U;
}

TEST_F(HandOver, GivesTheInstanceAndReadsAndOpensKvmrunsDirectoriesForPassingOnly) {
  ASSERT_NE(as_user("cat " + base().string()), 0) << "closed before";
  const Status given = hand_over(m_as, {{instance_dir(), disk()}, {base()}}, m_dirs);
  ASSERT_TRUE(given.ok()) << given.error().describe();

  EXPECT_EQ(as_user("cat " + base().string() + " && echo more >> " + disk().string() +
                    " && touch " + (instance_dir() / "net-lan.sock").string()),
            0)
      << "the user reads the base, writes its disk and makes its sockets";
  EXPECT_NE(as_user("ls " + m_dirs.state.string()), 0) << "kvmrun's directories are not listable";
  EXPECT_NE(as_user("echo x > " + (m_dirs.state / "lab" / "other").string()), 0);
  EXPECT_NE(as_user("echo x >> " + base().string()), 0) << "the base is read-only to it";
  EXPECT_EQ(mode_of(m_dirs.state), 0711U);
  EXPECT_EQ(mode_of(instance_dir()), 0700U);
  EXPECT_EQ(mode_of(base()), 0640U);
  EXPECT_EQ(mode_of(disk()), 0600U);

  // Again, and a private directory made again keeps its passing bits.
  ASSERT_TRUE(hand_over(m_as, {{instance_dir(), disk()}, {base()}}, m_dirs).ok());
  ASSERT_TRUE(create_private_dirs(m_dirs.state / "lab").ok());
  EXPECT_EQ(mode_of(m_dirs.state / "lab"), 0711U);
}

TEST_F(HandOver, LeavesWhatIsNotKvmrunsClosedAndSaysWhy) {
  const auto kernel = m_dir.path() / "outside" / "vmlinuz";
  const Status closed = hand_over(m_as, {{}, {kernel}}, m_dirs);
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code(), ErrorCode::host);
  const auto text = closed.error().describe();
  EXPECT_NE(text.find("QEMU runs as user 'nobody'"), std::string::npos) << text;
  EXPECT_NE(text.find((m_dir.path() / "outside").string() + " (mode 0700"), std::string::npos)
      << text;
  EXPECT_NE(closed.error().remedy().find("chmod o+x " + (m_dir.path() / "outside").string()),
            std::string::npos);
  EXPECT_EQ(mode_of(m_dir.path() / "outside"), 0700U) << "not kvmrun's: unchanged";

  const Status unreadable = hand_over(m_as, {{}, {m_dir.path() / "secret"}}, m_dirs);
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.error().message().find("cannot read " + (m_dir.path() / "secret").string()),
            std::string::npos)
      << unreadable.error().describe();
  EXPECT_EQ(mode_of(m_dir.path() / "secret"), 0600U);
}

TEST_F(HandOver, ABackgroundChildRunsAsTheUserWithOnlyItsGroups) {
  const auto out = m_dir.path() / "id.txt";
  UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  ASSERT_TRUE(fd.valid());
  BackgroundOptions options;
  options.output_fd = fd.get();
  options.run_as = Credentials{m_as.ids.uid, m_as.ids.gid, {m_as.ids.gid, 4}};
  const auto pid = spawn_background({"/bin/sh", "-c", "id -u; id -g; id -G"}, options);
  ASSERT_TRUE(pid.ok()) << pid.error().describe();
  ASSERT_TRUE(wait_exit(*pid, std::chrono::seconds(10)));
  const auto ids = read_file(out, 4096);
  ASSERT_TRUE(ids.ok());
  const std::string u = std::to_string(m_as.ids.uid);
  const std::string g = std::to_string(m_as.ids.gid);
  EXPECT_EQ(*ids, u + "\n" + g + "\n" + g + " 4\n");
}

} // namespace
} // namespace kvmrun::instance
