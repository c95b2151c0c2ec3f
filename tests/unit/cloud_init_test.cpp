#include "seeds/cloud_init.hpp"

#include <gtest/gtest.h>

namespace kvmrun::seeds {
namespace {

SeedSpec web() {
  SeedSpec s;
  s.name = "web-1";
  s.hostname = "web-1";
  s.network.mac = "52:54:00:12:34:56";
  UserSpec ann;
  ann.name = "ann";
  ann.groups = {"sudo", "adm"};
  ann.sudo = "ALL=(ALL) NOPASSWD:ALL";
  ann.ssh_authorized_keys = {"ssh-ed25519 AAAAC3Nza ann@laptop"};
  s.users.push_back(ann);
  s.runcmd = {"touch /var/lib/ready"};
  return s;
}

SeedDocuments render(const SeedSpec& s) {
  auto r = render_seed(s);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : SeedDocuments{};
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(CloudInit, MetaDataHoldsTheInstanceIdAndHostname) {
  const auto d = render(web());
  EXPECT_EQ(d.meta_data, "instance-id: " + d.instance_id + "\nlocal-hostname: web-1\n");
  EXPECT_EQ(d.instance_id.rfind("web-1-", 0), 0U);
  EXPECT_EQ(d.instance_id.size(), std::string("web-1-").size() + 16);
}

TEST(CloudInit, UserDataIsACloudConfigWithUsersAndCommands) {
  const auto d = render(web());
  EXPECT_EQ(d.user_data.rfind("#cloud-config\n", 0), 0U);
  EXPECT_TRUE(has(d.user_data, "users:\n  - name: ann\n    groups: \"sudo,adm\"\n"));
  EXPECT_TRUE(has(d.user_data, "    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"));
  EXPECT_TRUE(has(d.user_data, "    lock_passwd: true\n"));
  EXPECT_TRUE(has(d.user_data, "runcmd:\n  - \"touch /var/lib/ready\"\n"));
  EXPECT_TRUE(has(d.user_data, "final_message: \"kvmrun-ready instance-id=" + d.instance_id +
                                   " uptime=$UPTIME"));
  EXPECT_TRUE(has(d.user_data, "ssh_pwauth: false\n"));
}

TEST(CloudInit, DefaultUserKeysCreateTheImagesDefaultUserBeforeTheDeclaredOnes) {
  auto s = web();
  EXPECT_FALSE(has(render(s).user_data, "default")) << "no default user unless asked";
  s.default_user_keys = {"ssh-ed25519 AAAAC3Nzb kvmrun lab"};
  const auto d = render(s);
  EXPECT_TRUE(has(d.user_data, "users:\n  - default\n  - name: ann\n")) << d.user_data;
  EXPECT_TRUE(
      has(d.user_data, "\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAAC3Nzb kvmrun lab\"\n"))
      << d.user_data;
  s.users.clear();
  EXPECT_TRUE(has(render(s).user_data, "users:\n  - default\n"));
}

TEST(CloudInit, TheSameSpecGivesTheSameBytes) {
  const auto a = render(web());
  const auto b = render(web());
  EXPECT_EQ(a.user_data, b.user_data);
  EXPECT_EQ(a.meta_data, b.meta_data);
  EXPECT_EQ(a.network_config, b.network_config);
}

TEST(CloudInit, TheInstanceIdChangesWhenAnythingCloudInitActsOnChanges) {
  const std::string base = render(web()).instance_id;
  SeedSpec s = web();
  s.runcmd.push_back("echo again");
  EXPECT_NE(render(s).instance_id, base);
  s = web();
  s.network.address = "10.0.2.20/24";
  EXPECT_NE(render(s).instance_id, base);
  s = web();
  s.hostname = "web-one";
  EXPECT_NE(render(s).instance_id, base);
}

TEST(CloudInit, AHashedPasswordUnlocksTheAccountAndPlainTextIsOnlyWhatWasGiven) {
  SeedSpec s = web();
  s.users[0].password_hash = "$6$abcdefgh$hashhashhash";
  auto d = render(s);
  EXPECT_TRUE(has(d.user_data, "    lock_passwd: false\n"));
  EXPECT_TRUE(has(d.user_data, "    passwd: \"$6$abcdefgh$hashhashhash\"\n"));
  EXPECT_FALSE(has(d.user_data, "plain_text_passwd"));
  s.users[0].password_hash.clear();
  s.users[0].plain_password = "hunter2";
  d = render(s);
  EXPECT_TRUE(has(d.user_data, "    plain_text_passwd: hunter2\n"));
}

TEST(CloudInit, BinaryFileContentIsBase64Encoded) {
  SeedSpec s = web();
  s.write_files.push_back(WriteFileSpec{"/opt/blob", std::string("\xff\x00\x01", 3), "0600",
                                        "root:root", false, false});
  const auto d = render(s);
  EXPECT_TRUE(has(d.user_data, "  - path: /opt/blob\n    encoding: b64\n    content: /wAB\n"));
}

TEST(CloudInit, ExtraDisksGetAFilesystemAndAMountByLabel) {
  SeedSpec s = web();
  s.disks.push_back(
      DiskSpec{"/dev/disk/by-id/virtio-data", "ext4", "data", "/srv/data", "defaults,nofail"});
  const auto d = render(s);
  EXPECT_TRUE(has(d.user_data, "fs_setup:\n  - device: /dev/disk/by-id/virtio-data\n"
                               "    filesystem: ext4\n    partition: none\n"
                               "    overwrite: false\n    label: data\n"));
  EXPECT_TRUE(has(d.user_data, "mounts:\n  - - \"LABEL=data\"\n    - /srv/data\n    - ext4\n"
                               "    - \"defaults,nofail\"\n    - \"0\"\n    - \"2\"\n"));
}

TEST(CloudInit, NetworkConfigMatchesByMacWithDhcpByDefault) {
  EXPECT_EQ(render(web()).network_config,
            "version: 2\nethernets:\n  eth0:\n    match:\n"
            "      macaddress: \"52:54:00:12:34:56\"\n    set-name: eth0\n    dhcp4: true\n");
}

TEST(CloudInit, StaticNetworkConfigHasAddressRouteAndNameservers) {
  SeedSpec s = web();
  s.network.address = "10.0.2.20/24";
  s.network.gateway = "10.0.2.2";
  s.network.nameservers = {"10.0.2.3"};
  s.network.search = {"lab.internal"};
  EXPECT_EQ(render(s).network_config,
            "version: 2\nethernets:\n  eth0:\n    match:\n"
            "      macaddress: \"52:54:00:12:34:56\"\n    set-name: eth0\n    dhcp4: false\n"
            "    addresses:\n      - \"10.0.2.20/24\"\n"
            "    routes:\n      - to: \"0.0.0.0/0\"\n        via: \"10.0.2.2\"\n"
            "    nameservers:\n      addresses:\n        - \"10.0.2.3\"\n"
            "      search:\n        - lab.internal\n");
}

TEST(CloudInit, InvalidUtf8InTextFieldsIsAConfigErrorNamingTheInstance) {
  SeedSpec s = web();
  s.runcmd = {"echo \xff"};
  const auto r = render_seed(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::config);
  EXPECT_TRUE(has(r.error().describe(), "user-data of web-1"));
}

TEST(CloudInit, SeedFilesAreTheThreeNoCloudDocuments) {
  const auto files = seed_files(render(web()));
  ASSERT_EQ(files.size(), 3U);
  EXPECT_EQ(files[0].name, "meta-data");
  EXPECT_EQ(files[1].name, "user-data");
  EXPECT_EQ(files[2].name, "network-config");
}

} // namespace
} // namespace kvmrun::seeds
