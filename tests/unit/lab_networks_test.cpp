// Lab networks in the lab definition: what a valid one gives each instance's seed, and every
// bad input as a file:line error naming the key.
#include "lab/loader.hpp"
#include "seeds/cloud_init.hpp"

#include <gtest/gtest.h>

namespace kvmrun::lab {
namespace {

const std::string head = R"([lab]
name = "net"
[images.deb]
url = "https://example.org/deb.qcow2"
checksum_url = "https://example.org/SHA512SUMS"
[defaults]
image = "deb"
)";

const std::string two_networks = R"([networks.mgmt]
subnet = "192.168.50.0/24"
[networks.app]
subnet = "192.168.122.0/24"
)";

LabSpec parse_ok(const std::string& text) {
  auto r = parse_lab(head + text, "lab.toml");
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? std::move(r).value() : LabSpec{};
}

std::string parse_error(const std::string& text) {
  auto r = parse_lab(head + text, "lab.toml");
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  return r.ok() ? std::string() : r.error().message();
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(LabNetworks, AttachmentsGiveEachSeedItsNicsAndAHostsTableOfEveryMember) {
  const auto lab = parse_ok(two_networks + R"(
[instances.node-1]
networks = [{ name = "app", address = "192.168.122.10" },
            { name = "mgmt", address = "192.168.50.10", mac = "52:54:00:AA:00:01" }]
[instances.node-2]
networks = [{ name = "app", address = "192.168.122.11" }]
[instances.node-3]
user_network = false
networks = [{ name = "mgmt", address = "192.168.50.12" }]
)");
  ASSERT_EQ(lab.networks.size(), 2U);
  EXPECT_EQ(lab.networks[0].name, "mgmt") << "file order";
  EXPECT_EQ(lab.networks[1].prefix, 24U);
  const auto& n1 = lab.instances[0].seed;
  ASSERT_EQ(n1.segment_nics.size(), 2U);
  EXPECT_EQ(n1.segment_nics[0].name, "app");
  EXPECT_EQ(n1.segment_nics[0].address, "192.168.122.10/24");
  EXPECT_EQ(n1.segment_nics[0].mac, deterministic_mac("net", "node-1", "app"));
  EXPECT_EQ(n1.segment_nics[1].mac, "52:54:00:aa:00:01");
  EXPECT_TRUE(n1.user_nic);
  // node-1 is on both networks: it sees everyone; bare names on the first network shared
  // (mgmt for node-3, app for node-2 and itself... mgmt is declared first).
  ASSERT_EQ(n1.hosts.size(), 4U);
  EXPECT_EQ(n1.hosts[0].address, "192.168.50.10");
  EXPECT_EQ(n1.hosts[0].names, (std::vector<std::string>{"node-1.mgmt", "node-1"}));
  EXPECT_EQ(n1.hosts[1].names, (std::vector<std::string>{"node-3.mgmt", "node-3"}));
  EXPECT_EQ(n1.hosts[2].names, (std::vector<std::string>{"node-1.app"}));
  EXPECT_EQ(n1.hosts[3].names, (std::vector<std::string>{"node-2.app", "node-2"}));
  // node-2 shares only app: node-3 does not appear at all.
  const auto& n2 = lab.instances[1].seed;
  ASSERT_EQ(n2.hosts.size(), 2U);
  EXPECT_EQ(n2.hosts[0].names, (std::vector<std::string>{"node-1.app", "node-1"}));
  EXPECT_EQ(n2.hosts[1].names, (std::vector<std::string>{"node-2.app", "node-2"}));
  EXPECT_FALSE(lab.instances[2].seed.user_nic);
}

TEST(LabNetworks, TheSeedNamesEachNicByItsNetworkMatchedByMacAndWritesEtcHosts) {
  // An image whose NICs kvmrun names (interface_names = "kvmrun").
  std::string renamed = two_networks + R"(
[instances.a]
networks = [{ name = "app", address = "192.168.122.10" }]
[instances.b]
user_network = false
networks = [{ name = "app", address = "192.168.122.11" }]
)";
  renamed += "[images.named]\nurl = \"https://example.org/n.qcow2\"\nchecksum_url = "
             "\"https://example.org/SHA512SUMS\"\ninterface_names = \"kvmrun\"\n";
  for (const auto* at : {"[instances.a]\n", "[instances.b]\n"})
    renamed.insert(renamed.find(at) + std::string(at).size(), "image = \"named\"\n");
  const auto lab = parse_ok(renamed);
  const auto a = seeds::render_seed(lab.instances[0].seed);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  const std::string mac = deterministic_mac("net", "a", "app");
  EXPECT_TRUE(has(a->network_config, "  eth0:\n")) << a->network_config;
  EXPECT_TRUE(has(a->network_config, "  app:\n    match:\n      macaddress: \"" + mac +
                                         "\"\n    set-name: app\n    dhcp4: false\n"
                                         "    addresses:\n      - \"192.168.122.10/24\"\n"))
      << a->network_config;
  EXPECT_TRUE(has(a->user_data, "manage_etc_hosts: false\n")) << a->user_data;
  EXPECT_TRUE(has(a->user_data, "  - path: /etc/hosts\n    content: |\n")) << a->user_data;
  EXPECT_TRUE(has(a->user_data, "      127.0.1.1 a\n")) << a->user_data;
  EXPECT_TRUE(has(a->user_data, "      192.168.122.10 a.app a\n      192.168.122.11 b.app b\n"))
      << a->user_data;
  const auto b = seeds::render_seed(lab.instances[1].seed);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(has(b->network_config, "eth0")) << "user_network = false: no user-mode NIC";
  // An image that leaves the names to the guest: the same NICs matched by MAC, not renamed.
  auto g = parse_lab(head + two_networks +
                         "[instances.a]\nnetworks = [{ name = \"app\", "
                         "address = \"192.168.122.10\" }]\n",
                     "lab.toml");
  ASSERT_TRUE(g.ok()) << g.error().describe();
  const auto gd = seeds::render_seed(g->instances[0].seed);
  ASSERT_TRUE(gd.ok());
  EXPECT_FALSE(has(gd->network_config, "set-name")) << gd->network_config;
  EXPECT_TRUE(has(gd->network_config,
                  "  app:\n    match:\n      macaddress: \"" + mac + "\"\n    dhcp4: false\n"))
      << gd->network_config;
  EXPECT_TRUE(has(gd->network_config, "  eth0:\n    match:\n      macaddress: "));
  // A lab without networks keeps cloud-init's own /etc/hosts.
  const auto plain = parse_ok("[instances.c]\n");
  const auto c = seeds::render_seed(plain.instances[0].seed);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(has(c->user_data, "manage_etc_hosts: true\n"));
  EXPECT_FALSE(has(c->user_data, "/etc/hosts"));
}

TEST(LabNetworks, AGatewayGivesARouteBehindTheUserNicsAndMustLieInTheSubnet) {
  const auto lab = parse_ok(R"([networks.app]
subnet = "192.168.122.0/24"
gateway = "192.168.122.1"
[instances.a]
networks = [{ name = "app", address = "192.168.122.10" }]
)");
  const auto a = seeds::render_seed(lab.instances[0].seed);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(has(a->network_config, "    routes:\n      - to: \"0.0.0.0/0\"\n        via: "
                                     "\"192.168.122.1\"\n        metric: 200\n"))
      << a->network_config;
  const auto e = parse_error(R"([networks.app]
subnet = "192.168.122.0/24"
gateway = "192.168.1.1"
[instances.a]
)");
  EXPECT_TRUE(has(e, "lab.toml:10:11: networks.app.gateway: 192.168.1.1 is outside the network's "
                     "subnet 192.168.122.0/24"))
      << e;
}

struct BadCase {
  std::string text;
  std::string expected;
};

TEST(LabNetworks, EveryBadInputIsALocatedErrorNamingTheKey) {
  const std::vector<BadCase> cases{
      {"[networks.app]\nsubnet = \"192.168.122.0/24\"\n[instances.a]\n"
       "networks = [{ name = \"app\", address = \"192.168.1.10\" }]\n",
       "lab.toml:11:13: instances.a.networks[0].address: 192.168.1.10 is outside app's subnet "
       "192.168.122.0/24"},
      {"[networks.app]\nsubnet = \"192.168.122.0/24\"\n[instances.a]\n"
       "networks = [{ name = \"app\", address = \"192.168.122.255\" }]\n",
       "instances.a.networks[0].address: 192.168.122.255 is the broadcast address"},
      {"[networks.app]\nsubnet = \"192.168.122.0/24\"\n[instances.a]\n"
       "networks = [{ name = \"app\", address = \"192.168.122.10\" }]\n[instances.b]\n"
       "networks = [{ name = \"app\", address = \"192.168.122.10\" }]\n",
       "instances.b.networks[0].address: 192.168.122.10 on app is also a's"},
      {"[networks.app]\nsubnet = \"192.168.122.0/24\"\n[instances.a]\n"
       "networks = [{ name = \"app\", address = \"192.168.122.10\", mac = \"52:54:00:00:00:01\" "
       "}]\n[instances.b]\nnetworks = [{ name = \"app\", address = \"192.168.122.11\", mac = "
       "\"52:54:00:00:00:01\" }]\n",
       "instances.b.networks[0].mac: 52:54:00:00:00:01 is also the MAC of a on app"},
      {"[instances.a]\nnetwork = { mac = \"52:54:00:00:00:07\" }\n"
       "networks = [{ name = \"app\", address = \"192.168.122.11\", mac = \"52:54:00:00:00:07\" "
       "}]\n[networks.app]\nsubnet = \"192.168.122.0/24\"\n",
       "instances.a.networks[0].mac: 52:54:00:00:00:07 is also the MAC of a"},
      {"[instances.a]\nnetworks = [{ name = \"db\", address = \"192.168.122.10\" }]\n",
       "lab.toml:9:13: instances.a.networks[0].name: no network \"db\" in [networks]; declare "
       "[networks.db] with a subnet"},
      {two_networks + "[instances.a]\nnetworks = [{ name = \"db\", address = \"10.9.0.1\" }]\n",
       "no network \"db\" in [networks] (it has: mgmt, app)"},
      {"[networks.a1]\nsubnet = \"192.168.0.0/16\"\n[networks.a2]\nsubnet = "
       "\"192.168.122.0/24\"\n[instances.a]\nnetworks = [{ name = \"a1\", address = "
       "\"192.168.1.1\" }, { name = \"a2\", address = \"192.168.122.2\" }]\n",
       "instances.a.networks[1]: a2 (192.168.122.0/24) overlaps a1 (192.168.0.0/16), which a is "
       "attached to as well"},
      {"[networks.app]\nsubnet = \"192.168.122.0/24\"\n[instances.a]\n"
       "networks = [{ name = \"app\", address = \"192.168.122.10\" }, { name = \"app\", address = "
       "\"192.168.122.11\" }]\n",
       "instances.a.networks[1]: instance a is attached to app twice"},
      {"[networks.u]\nsubnet = \"10.0.0.0/8\"\n[instances.a]\n"
       "networks = [{ name = \"u\", address = \"10.1.0.1\" }]\n",
       "u (10.0.0.0/8) overlaps user networking's 10.0.2.0/24 on this instance"},
      {"[networks.app]\nsubnet = \"192.168.122.7/24\"\n[instances.a]\n",
       "networks.app.subnet: \"192.168.122.7/24\" has host bits set; the subnet is "
       "192.168.122.0/24"},
      {"[networks.app]\nsubnet = \"192.168.122.0/31\"\n[instances.a]\n",
       "expected an IPv4 subnet with a prefix from 8 to 30"},
      {"[networks.app]\n[instances.a]\n", "networks.app.subnet: missing"},
      {"[networks.application-tier]\nsubnet = \"192.168.3.0/24\"\n[instances.a]\n",
       "networks.application-tier: network names are 1 to 12"},
      {"[networks.app]\nsubnet = \"192.168.3.0/24\"\nbridge = \"br 0\"\n[instances.a]\n",
       "networks.app.bridge: expected the name of an existing host bridge"},
      {"[networks.app]\nsubnet = \"192.168.3.0/24\"\nbridge = \"a-bridge-name-too-long\"\n"
       "[instances.a]\n",
       "networks.app.bridge: expected the name of an existing host bridge"},
      {"[networks.app]\nsubnet = \"192.168.3.0/24\"\n[instances.a]\nuser_network = false\n"
       "forwards = [{ host = 2222, guest = 22 }]\n",
       "instances.a.forwards: forwards need the user-mode NIC, which user_network = false turns "
       "off"},
      {"[networks.app]\nsubnet = \"192.168.3.0/24\"\n[instances.a]\n"
       "networks = [{ name = \"app\" }]\n",
       "instances.a.networks[0].address: missing"},
  };
  for (const auto& c : cases) {
    const auto e = parse_error(c.text);
    EXPECT_TRUE(has(e, c.expected)) << "input:\n" << c.text << "\nerror:\n" << e;
  }
}

} // namespace
} // namespace kvmrun::lab
