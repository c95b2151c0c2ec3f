// The lab's SSH key and an instance's host-key record as files: made once and kept, agreed on
// by two kvmruns making it at once, refused (with the way out) when damaged or open to others,
// and given to the seeds of the default user and the users that want it.
#include "base/file_io.hpp"
#include "instance/host_keys.hpp"
#include "instance/lab_key.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <thread>

namespace kvmrun::instance {
namespace {

TEST(LabKey, MadeOnFirstUsePrivateToItsOwnerAndKept) {
  testing::TempDir dir;
  auto none = existing_lab_key(dir.path());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto made = lab_key("deb", dir.path());
  ASSERT_TRUE(made.ok()) << made.error().describe();
  EXPECT_EQ(made->file, dir / "ssh" / "id_ed25519");
  EXPECT_EQ(made->key.comment, "kvmrun lab deb");
  struct stat st {};
  ASSERT_EQ(::stat(made->file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0600U);
  ASSERT_EQ(::stat(made->file.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777U, 0700U);
  auto again = lab_key("deb", dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key.authorized_key(), made->key.authorized_key());
}

TEST(LabKey, TwoKvmrunsMakingItAtOnceAgreeOnOne) {
  for (int round = 0; round < 20; ++round) {
    testing::TempDir dir;
    std::string a, b;
    std::thread one([&] { a = lab_key("deb", dir.path()).value().key.authorized_key(); });
    std::thread two([&] { b = lab_key("deb", dir.path()).value().key.authorized_key(); });
    one.join();
    two.join();
    ASSERT_EQ(a, b) << "round " << round;
    EXPECT_EQ(existing_lab_key(dir.path()).value()->key.authorized_key(), a);
  }
}

TEST(LabKey, ADamagedOrExposedKeyIsAnIoErrorWithTheWayOut) {
  testing::TempDir dir;
  const auto file = lab_key("deb", dir.path()).value().file;
  const auto text = *read_file(file);
  for (const std::string& damaged : {std::string(), text.substr(0, text.size() / 2),
                                     text.substr(0, 40) + "A" + text.substr(41)}) {
    ASSERT_TRUE(write_file_atomic(file, damaged, 0600).ok());
    const auto made = lab_key("deb", dir.path()); // never replaced by a new one
    const auto found = existing_lab_key(dir.path());
    ASSERT_FALSE(made.ok());
    ASSERT_FALSE(found.ok());
    for (const Error& e : {made.error(), found.error()}) {
      EXPECT_EQ(e.code(), ErrorCode::io);
      EXPECT_NE(e.message().find(file.string() + " is damaged"), std::string::npos) << e.message();
      EXPECT_NE(e.remedy().find("remove " + file.string()), std::string::npos);
    }
  }
  ASSERT_TRUE(write_file_atomic(file, text, 0644).ok());
  const auto open = existing_lab_key(dir.path());
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message().find("(mode 0644), which ssh refuses"), std::string::npos)
      << open.error().message();
  EXPECT_EQ(open.error().remedy(), "chmod 600 " + file.string());
}

TEST(LabKey, TheDefaultUserAndTheUsersThatWantItGetTheKey) {
  lab::InstanceSpec web;
  web.name = "web";
  web.seed.users.resize(2);
  web.seed.users[0].name = "ann";
  web.seed.users[0].ssh_authorized_keys = {"ssh-ed25519 AAAA ann"};
  web.seed.users[1].name = "bob";
  web.lab_key_users = {"ann"};
  authorize_lab_key(web, "ssh-ed25519 BBBB kvmrun lab deb");
  EXPECT_EQ(web.seed.default_user_keys,
            std::vector<std::string>{"ssh-ed25519 BBBB kvmrun lab deb"});
  EXPECT_EQ(web.seed.users[0].ssh_authorized_keys,
            (std::vector<std::string>{"ssh-ed25519 AAAA ann", "ssh-ed25519 BBBB kvmrun lab deb"}));
  EXPECT_TRUE(web.seed.users[1].ssh_authorized_keys.empty());
}

TEST(HostKeyRecord, WrittenReadBackAbsentMeansNoneAndDamageNamesTheFileAndTheReset) {
  testing::TempDir dir;
  const InstancePaths paths{dir / "state", dir / "run"};
  std::filesystem::create_directories(paths.state);
  const auto alias = host_key_alias("deb", "web");
  EXPECT_EQ(alias, "kvmrun.deb.web");
  auto none = read_host_key_record(paths, alias, "web");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const auto key = lab_key("deb", dir.path()).value().key.public_blob();
  const ssh::HostKeys record{alias, "web-0011223344556677", {key}};
  ASSERT_TRUE(write_host_key_record(paths, record).ok());
  auto back = read_host_key_record(paths, alias, "web");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ(**back, record);
  testing::write_file(paths.known_hosts(), "kvmrun.deb.web ssh-ed25519 AAAA\n");
  const auto bad = read_host_key_record(paths, alias, "web");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::io);
  EXPECT_NE(bad.error().message().find(paths.known_hosts().string() + " is damaged: line 1"),
            std::string::npos)
      << bad.error().message();
  EXPECT_EQ(bad.error().remedy(), "`kvmrun ssh web --reset-host-key` reads the guest's keys again");
}

} // namespace
} // namespace kvmrun::instance
