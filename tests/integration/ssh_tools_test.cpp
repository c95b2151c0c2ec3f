// kvmrun's SSH files read and written by OpenSSH's own tools: the lab key kvmrun writes is one
// ssh-keygen reads (same public key, same fingerprint), a key ssh-keygen makes is one kvmrun
// reads, an encrypted one is refused, and ssh-keygen finds the host keys of a known-hosts
// record under the instance's alias.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "instance/lab_key.hpp"
#include "ssh/known_hosts.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace kvmrun::ssh {
namespace {

std::string tool(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  EXPECT_TRUE(r.ok() && r->success())
      << argv[0] << ": " << (r.ok() ? r->err : r.error().describe());
  return r.ok() ? r->out : std::string();
}

TEST(SshTools, SshKeygenReadsTheLabKeyKvmrunWrites) {
  testing::TempDir dir;
  const auto key = instance::lab_key("deb", dir.path());
  ASSERT_TRUE(key.ok()) << key.error().describe();
  EXPECT_EQ(tool({"ssh-keygen", "-y", "-f", key->file.string()}), key->key.authorized_key() + "\n");
  const auto listed = tool({"ssh-keygen", "-l", "-f", key->file.string()});
  EXPECT_NE(listed.find(fingerprint(key->key.public_blob()) + " kvmrun lab deb (ED25519)"),
            std::string::npos)
      << listed;
}

TEST(SshTools, KvmrunReadsAKeySshKeygenMadeAndRefusesAnEncryptedOne) {
  testing::TempDir dir;
  const auto plain = dir / "plain";
  tool({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "made by ssh-keygen", "-f",
        plain.string()});
  const auto parsed = parse_private_key_file(*read_file(plain));
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
  EXPECT_EQ(parsed->authorized_key() + "\n", *read_file(dir / "plain.pub"));
  const auto locked = dir / "locked";
  tool({"ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", locked.string()});
  const auto refused = parse_private_key_file(*read_file(locked));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("it is encrypted"), std::string::npos)
      << refused.error().message();
}

TEST(SshTools, SshKeygenFindsARecordsKeysUnderTheInstancesAlias) {
  testing::TempDir dir;
  const auto made = dir / "host";
  tool({"ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", made.string()});
  const auto host_key = parse_public_key(*read_file(dir / "host.pub"));
  ASSERT_TRUE(host_key.ok()) << host_key.error().describe();
  const auto known = dir / "known_hosts";
  ASSERT_TRUE(
      write_file_atomic(known, render_known_hosts({"kvmrun.deb.web", "web-0a", {*host_key}})).ok());
  const auto found = tool({"ssh-keygen", "-F", "kvmrun.deb.web", "-f", known.string()});
  EXPECT_NE(found.find("kvmrun.deb.web " + to_text(*host_key)), std::string::npos) << found;
  const auto r = run_command({"ssh-keygen", "-F", "kvmrun.deb.db", "-f", known.string()});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->success()) << "another instance's alias finds nothing";
}

} // namespace
} // namespace kvmrun::ssh
