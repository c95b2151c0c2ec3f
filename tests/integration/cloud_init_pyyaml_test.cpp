// cloud-init documents read by PyYAML (what cloud-init does with them): hostile values land
// exactly where they were meant to, and password hashes verify with Python's crypt.
#include "base/subprocess.hpp"
#include "seeds/cloud_init.hpp"
#include "seeds/password.hpp"
#include "tests/support/hostile_strings.hpp"
#include "tests/support/pyyaml.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace kvmrun::seeds {
namespace {

boost::json::value load(const std::string& text) {
  auto r = testing::pyyaml_load(text);
  EXPECT_TRUE(r.ok()) << r.error().describe() << "\n" << text;
  return r.ok() ? *r : boost::json::value();
}

TEST(CloudInitPyYaml, HostileValuesCannotChangeTheDocumentsStructure) {
  if (!testing::python_with_yaml())
    GTEST_SKIP() << "no python3 with PyYAML";
  const auto hostile = testing::hostile_strings(120, 7);
  for (std::size_t i = 0; i + 4 < hostile.size(); i += 5) {
    SeedSpec s;
    s.name = "n";
    s.hostname = hostile[i];
    UserSpec u;
    u.name = "ann";
    u.gecos = hostile[i + 1];
    u.ssh_authorized_keys = {hostile[i + 2]};
    s.users = {u};
    s.runcmd = {hostile[i + 3], "echo ok"};
    s.write_files = {WriteFileSpec{"/etc/x", hostile[i + 4], "0644", "root:root", false, false}};
    s.timezone = hostile[i + 1];
    s.network.mac = hostile[i + 2];
    const auto docs = render_seed(s);
    ASSERT_TRUE(docs.ok());
    const auto user_data = load(docs->user_data).as_object();
    EXPECT_EQ(user_data.at("hostname"), boost::json::value(hostile[i]));
    EXPECT_EQ(user_data.at("users").at(0).at("gecos"), boost::json::value(hostile[i + 1]));
    EXPECT_EQ(user_data.at("users").at(0).at("ssh_authorized_keys"),
              boost::json::value(boost::json::array{hostile[i + 2]}));
    EXPECT_EQ(user_data.at("runcmd"),
              (boost::json::value(boost::json::array{hostile[i + 3], "echo ok"})));
    EXPECT_EQ(user_data.at("write_files").at(0).at("content"), boost::json::value(hostile[i + 4]));
    EXPECT_EQ(user_data.at("timezone"), boost::json::value(hostile[i + 1]));
    EXPECT_EQ(user_data.size(), 9U) << docs->user_data; // no key was smuggled in
    const auto net = load(docs->network_config);
    EXPECT_EQ(net.at("ethernets").at("eth0").at("match").at("macaddress"),
              boost::json::value(hostile[i + 2]));
    const auto meta = load(docs->meta_data);
    EXPECT_EQ(meta.at("local-hostname"), boost::json::value(hostile[i]));
    EXPECT_EQ(meta.at("instance-id"), boost::json::value(docs->instance_id));
  }
}

TEST(CloudInitPyYaml, Sha512CryptAgreesWithPythonsCrypt) {
  const auto python = testing::python_with_yaml();
  if (!python)
    GTEST_SKIP() << "no python3";
  const auto probe = run_command({*python, "-W", "ignore", "-c", "import crypt"});
  if (!probe.ok() || !probe->success())
    GTEST_SKIP() << "this python3 has no crypt module";
  for (const auto& [password, salt] : std::vector<std::pair<std::string, std::string>>{
           {"", "a"},
           {"x", "abcdefgh"},
           {"correct horse battery staple", "0123456789abcdef"},
           {std::string(200, 'p'), "./xyzXYZ"},
           {"caf\xc3\xa9!", "kvmrunSalt16Char"}}) {
    const auto r = run_command({*python, "-W", "ignore", "-c",
                                "import crypt, sys; sys.stdout.write(crypt.crypt(sys.argv[1], "
                                "'$6$' + sys.argv[2]))",
                                password, salt});
    ASSERT_TRUE(r.ok() && r->success());
    const auto hashed = sha512_crypt(password, salt);
    ASSERT_TRUE(hashed.ok()) << hashed.error().describe();
    EXPECT_EQ(*hashed, r->out) << "password of " << password.size();
  }
}

} // namespace
} // namespace kvmrun::seeds
