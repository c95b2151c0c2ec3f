// kvmrun's SSH pieces without a network: the ed25519 key in OpenSSH's private key format (made,
// written, read back, and every kind of damage refused), public keys and their fingerprints,
// the instance's known-hosts record, and the ssh command line. The same files read by the real
// OpenSSH tools: tests/integration/ssh_tools_test.cpp.
#include "base/base64.hpp"
#include "ssh/client_argv.hpp"
#include "ssh/known_hosts.hpp"
#include "ssh/private_key.hpp"
#include "ssh/public_key.hpp"
#include "ssh/wire.hpp"

#include <gtest/gtest.h>

namespace kvmrun::ssh {
namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// RFC 8032 section 7.1, test 1: a seed and the public point it gives.
Ed25519Key rfc8032_key() {
  return {from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
          from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
          "kvmrun lab test"};
}

// The key file's binary body (between the armour lines).
std::string body_of(const std::string& file) {
  const auto begin = file.find('\n') + 1;
  const auto end = file.find("-----END");
  std::string b64;
  for (const char c : file.substr(begin, end - begin))
    if (c != '\n')
      b64.push_back(c);
  return *base64_decode(b64);
}

std::string armoured(const std::string& body) {
  return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + base64_encode(body) +
         "\n-----END OPENSSH PRIVATE KEY-----\n";
}

TEST(SshPrivateKey, TheRfc8032KeyHasTheKnownPublicLineAndFingerprint) {
  const auto key = rfc8032_key();
  EXPECT_EQ(key.authorized_key(),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea "
            "kvmrun lab test");
  EXPECT_EQ(fingerprint(key.public_blob()), "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8");
}

TEST(SshPrivateKey, AFileIsArmouredWrappedAndReadBackWhole) {
  const auto key = rfc8032_key();
  const auto file = private_key_file(key, 0x01020304U);
  EXPECT_EQ(file, private_key_file(key, 0x01020304U)) << "the same key and check, the same bytes";
  EXPECT_TRUE(file.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
  EXPECT_TRUE(file.ends_with("\n-----END OPENSSH PRIVATE KEY-----\n"));
  std::size_t start = file.find('\n') + 1;
  for (std::size_t eol = 0; (eol = file.find('\n', start)) < file.rfind("-----END");
       start = eol + 1)
    EXPECT_LE(eol - start, 70U) << "lines of 70 characters, as OpenSSH writes them";
  EXPECT_TRUE(body_of(file).starts_with(std::string("openssh-key-v1\0", 15)));
  const auto back = parse_private_key_file(file);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->seed, key.seed);
  EXPECT_EQ(back->public_key, key.public_key);
  EXPECT_EQ(back->comment, key.comment);
}

TEST(SshPrivateKey, AGeneratedKeyIsFreshEachTimeAndItsPublicHalfBelongsToIt) {
  const auto a = generate_ed25519("a");
  const auto b = generate_ed25519("b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->seed, b->seed);
  EXPECT_EQ(a->seed.size(), 32U);
  const auto back = parse_private_key_file(private_key_file(*a, random_check_word()));
  ASSERT_TRUE(back.ok()) << back.error().describe(); // the parser derives the public key again
  EXPECT_EQ(back->public_key, a->public_key);
}

TEST(SshPrivateKey, EveryKindOfDamageIsRefusedSayingWhat) {
  const auto key = rfc8032_key();
  const auto file = private_key_file(key, 0xCAFEF00DU);
  const auto body = body_of(file);
  const auto refused = [](const std::string& text, const std::string& why) {
    const auto r = parse_private_key_file(text);
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::protocol);
      EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
    }
  };
  refused("", "no BEGIN/END");
  refused(file.substr(0, file.size() / 2), "no BEGIN/END");
  refused("-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----\n",
          "not base64");
  refused(armoured("openssh-key-v2" + body.substr(14)), "magic");
  refused(armoured(body.substr(0, body.size() - 9)), "cut short");
  refused(armoured(body + "x"), "bytes after");
  // Each field at its place in the body: magic 15, cipher "none" at 15..23.
  std::string encrypted = body;
  encrypted.replace(15, 8, std::string("\0\0\0\4aes1", 8));
  refused(armoured(encrypted), "encrypted");
  // The private part's first check word: after the magic, cipher, kdf, kdf options, key count,
  // the public blob (4 + 51) and the private part's length.
  const std::size_t secret_at = 15 + 8 + 8 + 4 + 4 + 55 + 4;
  std::string checks = body;
  checks[secret_at] = static_cast<char>(checks[secret_at] ^ 1);
  refused(armoured(checks), "check words differ");
  // The last byte of the private seed (8 bytes of checks, the type, the point, the pair length).
  const std::size_t seed_at = secret_at + 8 + 15 + 36 + 4;
  std::string other_seed = body;
  other_seed[seed_at + 31] = static_cast<char>(other_seed[seed_at + 31] ^ 1);
  refused(armoured(other_seed), "does not belong");
  std::string padding = body;
  padding[padding.size() - 1] = 9;
  refused(armoured(padding), "padding");
}

TEST(SshPublicKey, ParsesAuthorizedKeyLinesAndRefusesWhatIsNotOne) {
  const auto key = parse_public_key(rfc8032_key().authorized_key() + "\n");
  ASSERT_TRUE(key.ok()) << key.error().describe();
  EXPECT_EQ(key->type, "ssh-ed25519");
  EXPECT_EQ(*key, rfc8032_key().public_blob());
  EXPECT_EQ(to_text(*key),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
  EXPECT_TRUE(
      parse_public_key(
          "ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea")
          .ok());
  std::string rsa_blob;
  put_string(rsa_blob, "ssh-rsa");
  put_string(rsa_blob, "\1\0\1");
  put_string(rsa_blob, "modulus");
  EXPECT_TRUE(parse_public_key("ssh-rsa " + base64_encode(rsa_blob) + " root@web").ok());
  std::string short_point;
  put_string(short_point, "ssh-ed25519");
  put_string(short_point, std::string(31, 'x'));
  for (const std::string& bad : std::vector<std::string>{
           "", "ssh-ed25519", "ssh-ed25519 !!!!",
           "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea",
           "ssh-ed25519 " + base64_encode(short_point),
           "ssh-rsa " + base64_encode(std::string("\0\0\0\7ssh-rsa", 11))}) {
    const auto r = parse_public_key(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::protocol);
    }
  }
}

TEST(SshKnownHosts, ARecordIsReadBackAndEveryLineIsChecked) {
  const HostKeys record{"kvmrun.deb.web", "web-0123456789abcdef", {rfc8032_key().public_blob()}};
  const auto text = render_known_hosts(record);
  EXPECT_NE(text.find("\nkvmrun.deb.web ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdam"),
            std::string::npos)
      << text;
  const auto back = parse_known_hosts(text, "kvmrun.deb.web");
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(*back, record);

  const auto refused = [](const std::string& t, const std::string& why) {
    const auto r = parse_known_hosts(t, "kvmrun.deb.web");
    EXPECT_FALSE(r.ok()) << t;
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
    }
  };
  refused(text.substr(0, text.find("kvmrun.deb.web ssh")), "has no key");
  refused(text.substr(text.find("# instance-id")).replace(0, 1, "x"), "line 1: expected a key");
  refused(text.substr(text.find("\nkvmrun.deb.web") + 1), "no \"# instance-id\" line");
  std::string other = text;
  other.replace(other.rfind("kvmrun.deb.web"), 14, "kvmrun.deb.db");
  refused(other, "line 3: expected a key of kvmrun.deb.web");
  refused(text.substr(0, text.size() - 10), "line 3: the ssh-ed25519 key");
}

TEST(SshArgv, StrictChecksOneIdentityNoPromptAndTheCommandAfterDashes) {
  SshTarget t{"/usr/bin/ssh",
              "debian",
              "127.0.0.1",
              2222,
              "/st/lab/ssh/id_ed25519",
              "/st/lab/web/ssh_known_hosts",
              "kvmrun.lab.web",
              {}};
  const std::vector<std::string> login{"/usr/bin/ssh",
                                       "-i",
                                       "/st/lab/ssh/id_ed25519",
                                       "-o",
                                       "IdentitiesOnly=yes",
                                       "-o",
                                       "IdentityAgent=none",
                                       "-o",
                                       "UserKnownHostsFile=/st/lab/web/ssh_known_hosts",
                                       "-o",
                                       "GlobalKnownHostsFile=/dev/null",
                                       "-o",
                                       "StrictHostKeyChecking=yes",
                                       "-o",
                                       "UpdateHostKeys=no",
                                       "-o",
                                       "CheckHostIP=no",
                                       "-o",
                                       "HostKeyAlias=kvmrun.lab.web",
                                       "-o",
                                       "BatchMode=yes",
                                       "-p",
                                       "2222",
                                       "-l",
                                       "debian",
                                       "127.0.0.1"};
  EXPECT_EQ(ssh_argv(t), login);
  t.command = {"cloud-init", "status"};
  auto with = login;
  with.insert(with.end(), {"--", "cloud-init", "status"});
  EXPECT_EQ(ssh_argv(t), with);
}

TEST(SshArgv, PathsAreTakenLiterallyBySsh) {
  SshTarget t{"ssh", "u", "127.0.0.1", 22, "/a%d/key", "/state dir/100%/known", "a", {}};
  const auto argv = ssh_argv(t);
  EXPECT_EQ(argv[2], "/a%%d/key") << "ssh expands %-tokens in -i";
  EXPECT_EQ(argv[8], "UserKnownHostsFile=\"/state dir/100%%/known\"")
      << "and splits known-hosts files at spaces";
}

} // namespace
} // namespace kvmrun::ssh
