#include "lab/loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace kvmrun::lab {
namespace {

const std::string image_table = R"(
[images.deb]
url = "https://example.org/deb.qcow2"
checksum_url = "https://example.org/SHA512SUMS"
)";

LabSpec parse_ok(const std::string& text) {
  auto r = parse_lab(text, "lab.toml");
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? std::move(r).value() : LabSpec{};
}

std::string parse_error(const std::string& text) {
  auto r = parse_lab(text, "lab.toml");
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  if (r.ok())
    return {};
  EXPECT_EQ(r.error().code(), ErrorCode::config);
  return r.error().message();
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(LabLoader, AMinimalLabGetsDefaultsForEverythingUnsaid) {
  const auto lab = parse_ok(image_table + "[instances.web]\nimage = \"deb\"\n");
  EXPECT_EQ(lab.name, "lab");
  ASSERT_EQ(lab.instances.size(), 1U);
  const auto& web = lab.instances[0];
  EXPECT_EQ(web.cpus, 2U);
  EXPECT_EQ(web.memory_bytes, 2ULL << 30U);
  EXPECT_FALSE(web.disk_bytes.has_value());
  EXPECT_EQ(web.seed.hostname, "web");
  EXPECT_EQ(web.seed.network.mac, deterministic_mac("lab", "web"));
  EXPECT_FALSE(web.seed.network.address.has_value());
  EXPECT_EQ(lab.images.at("deb").format, DiskFormat::qcow2);
  EXPECT_EQ(lab.images.at("deb").firmware, Firmware::bios);
  EXPECT_EQ(lab.config_hash.size(), 64U);
}

TEST(LabLoader, CpusAreOneSocketOfCoresUnlessTheTopologySaysOtherwise) {
  const auto lab = parse_ok(image_table + R"(
[defaults]
image = "deb"
cpus = 4
[instances.plain]
[instances.threads]
topology = { threads = 2 }
[instances.sockets]
cpus = 8
topology = { sockets = 2, cores = 2, threads = 2 }
)");
  const auto topology = [](const InstanceSpec& i) {
    const auto t = smp_topology(i);
    return std::to_string(t.sockets) + "x" + std::to_string(t.cores) + "x" +
           std::to_string(t.threads);
  };
  EXPECT_EQ(topology(**lab.find_instance("plain")), "1x4x1");
  EXPECT_EQ(topology(**lab.find_instance("threads")), "1x2x2") << "cores make up the rest";
  EXPECT_EQ(topology(**lab.find_instance("sockets")), "2x2x2");
}

TEST(LabLoader, ATopologyThatIsNotTheCpusIsAProblemNamingBoth) {
  const auto e = parse_error(image_table + R"([instances.web]
image = "deb"
cpus = 3
topology = { threads = 2 }
[instances.db]
image = "deb"
cpus = 4
topology = { sockets = 1, cores = 2, threads = 1, dies = 2 }
)");
  EXPECT_TRUE(has(e, "instances.web.topology: sockets x cores x threads is 1 x 1 x 2, which is "
                     "not the instance's cpus (3); make their product 3 or change cpus"))
      << e;
  EXPECT_TRUE(has(e, "instances.db.topology: sockets x cores x threads is 1 x 2 x 1")) << e;
  EXPECT_TRUE(has(e, "instances.db.topology.dies: unknown key")) << e;
}

TEST(LabLoader, CpuAffinityIsAListOfDistinctHostCpus) {
  const auto lab =
      parse_ok(image_table + "[instances.web]\nimage = \"deb\"\ncpu_affinity = [1, 0]\n");
  EXPECT_EQ(lab.instances[0].cpu_affinity, (std::vector<unsigned>{1, 0}));
  EXPECT_TRUE(parse_ok(image_table + "[instances.web]\nimage = \"deb\"\n")
                  .instances[0]
                  .cpu_affinity.empty());
  const auto e = parse_error(image_table + R"([instances.a]
image = "deb"
cpu_affinity = []
[instances.b]
image = "deb"
cpu_affinity = [0, 0, -1, "1"]
)");
  EXPECT_TRUE(has(e, "instances.a.cpu_affinity: expected a non-empty array")) << e;
  EXPECT_TRUE(has(e, "instances.b.cpu_affinity[1]: host CPU 0 is listed twice")) << e;
  EXPECT_TRUE(has(e, "instances.b.cpu_affinity[2]: expected a host CPU number from 0 to 1023"))
      << e;
  EXPECT_TRUE(has(e, "instances.b.cpu_affinity[3]: expected a host CPU number")) << e;
}

TEST(LabLoader, InstancesInheritDefaultsAndOverrideThemKeyByKey) {
  const auto lab = parse_ok(image_table + R"(
[defaults]
image = "deb"
cpus = 1
memory = "1GiB"
[defaults.network]
gateway = "10.0.2.2"
[defaults.cloud_init]
timezone = "Etc/UTC"
runcmd = ["echo default"]
[defaults.timeouts]
boot = "2m"
[instances.a]
network = { address = "10.0.2.11/24" }
[instances.b]
cpus = 4
network = { address = "10.0.2.12/24" }
[instances.b.cloud_init]
runcmd = ["echo b"]
)");
  ASSERT_EQ(lab.instances.size(), 2U);
  const auto& a = lab.instances[0];
  const auto& b = lab.instances[1];
  EXPECT_EQ(a.cpus, 1U);
  EXPECT_EQ(b.cpus, 4U);
  EXPECT_EQ(b.memory_bytes, 1ULL << 30U);
  EXPECT_EQ(a.seed.network.gateway, "10.0.2.2");
  EXPECT_EQ(b.seed.network.address, "10.0.2.12/24");
  EXPECT_EQ(a.seed.runcmd, std::vector<std::string>{"echo default"});
  EXPECT_EQ(b.seed.runcmd, std::vector<std::string>{"echo b"});
  EXPECT_EQ(b.seed.timezone, "Etc/UTC");
  EXPECT_EQ(b.timeouts.boot, std::chrono::minutes(2));
}

TEST(LabLoader, UnknownKeysAreErrorsWithFileLineColumnAndKeyPath) {
  const auto e = parse_error(image_table + "[instances.web]\nimage = \"deb\"\ncpu = 2\n");
  EXPECT_TRUE(has(e, "lab.toml:7:1: instances.web.cpu: unknown key")) << e;
}

TEST(LabLoader, UnknownKeysInDefaultsAreReportedOnceUnderDefaults) {
  const auto e = parse_error(image_table + "[defaults]\nimage = \"deb\"\nmemroy = \"1GiB\"\n"
                                           "[instances.a]\n[instances.b]\n");
  EXPECT_TRUE(has(e, "1 problem in the lab definition")) << e;
  EXPECT_TRUE(has(e, "defaults.memroy: unknown key")) << e;
}

TEST(LabLoader, UnknownKeysDeepInsideAreFound) {
  const auto e = parse_error(image_table + R"([instances.web]
image = "deb"
[[instances.web.cloud_init.users]]
name = "ann"
ssh_keys = ["x"]
[instances.web.timeouts]
cloudinit = "5m"
)");
  EXPECT_TRUE(has(e, "instances.web.cloud_init.users[0].ssh_keys: unknown key")) << e;
  EXPECT_TRUE(has(e, "instances.web.timeouts.cloudinit: unknown key")) << e;
}

TEST(LabLoader, WrongTypesNameTheExpectedType) {
  const auto e = parse_error(image_table + "[instances.web]\nimage = \"deb\"\ncpus = \"two\"\n"
                                           "memory = 2048\n");
  EXPECT_TRUE(has(e, "instances.web.cpus: expected an integer from 1 to 64, got a string")) << e;
  EXPECT_TRUE(has(e, "instances.web.memory: expected a size such as \"2GiB\", got an integer"))
      << e;
}

TEST(LabLoader, OutOfRangeValuesSayTheRange) {
  const auto e = parse_error(image_table + "[instances.web]\nimage = \"deb\"\ncpus = 0\n"
                                           "memory = \"1MiB\"\ndisk = \"lots\"\n");
  EXPECT_TRUE(has(e, "instances.web.cpus: must be from 1 to 64, got 0")) << e;
  EXPECT_TRUE(has(e, "instances.web.memory: \"1MiB\" is out of range")) << e;
  EXPECT_TRUE(has(e, "instances.web.disk: \"lots\" is not a size")) << e;
}

TEST(LabLoader, NamesThatArePathsOrTooLongAreRefused) {
  for (const char* name :
       {"\"../etc\"", "\"a/b\"", "Web", "\"web-with-a-name-longer-than-32-chars\""}) {
    const auto e = parse_error(image_table + "[instances." + name + "]\nimage = \"deb\"\n");
    EXPECT_TRUE(has(e, "instance names are 1 to 32 of [a-z0-9-]")) << e;
  }
}

TEST(LabLoader, ForwardsBeyondLoopbackNeedAnExplicitOptIn) {
  const std::string lab = image_table + "[instances.web]\nimage = \"deb\"\n";
  const auto e =
      parse_error(lab + "forwards = [{ host = 8080, guest = 80, host_address = \"0.0.0.0\" }]\n");
  EXPECT_TRUE(has(e, "forwards[0].host_address: forwarding from 0.0.0.0 exposes the guest")) << e;
  const auto ok = parse_ok(
      lab +
      "forwards = [{ host = 8080, guest = 80, host_address = \"0.0.0.0\", public = true }]\n");
  EXPECT_EQ(ok.instances[0].forwards[0].host_address, "0.0.0.0");
  EXPECT_EQ(parse_ok(lab + "forwards = [{ host = 8080, guest = 80 }]\n")
                .instances[0]
                .forwards[0]
                .host_address,
            "127.0.0.1");
}

TEST(LabLoader, PortsOutOfRangeOrMissingAreErrors) {
  const std::string lab = image_table + "[instances.web]\nimage = \"deb\"\n";
  EXPECT_TRUE(has(parse_error(lab + "forwards = [{ host = 70000, guest = 80 }]\n"),
                  "forwards[0].host: must be from 1 to 65535, got 70000"));
  EXPECT_TRUE(has(parse_error(lab + "forwards = [{ guest = 80 }]\n"),
                  "a forward needs host and guest ports"));
}

TEST(LabLoader, TwoInstancesCannotShareAHostPortOrAMac) {
  const auto e = parse_error(image_table + R"([defaults]
image = "deb"
[instances.a]
forwards = [{ host = 2222, guest = 22 }]
network = { mac = "52:54:00:00:00:01" }
[instances.b]
forwards = [{ host = 2222, guest = 22 }]
network = { mac = "52:54:00:00:00:01" }
)");
  EXPECT_TRUE(has(e, "host port tcp 127.0.0.1:2222 is already forwarded to a")) << e;
  EXPECT_TRUE(has(e, "52:54:00:00:00:01 is also the MAC of a")) << e;
}

TEST(LabLoader, InstancesMustUseADefinedImage) {
  EXPECT_TRUE(has(parse_error(image_table + "[instances.web]\nimage = \"ubuntu\"\n"),
                  "no image \"ubuntu\" in [images]"));
  EXPECT_TRUE(has(parse_error(image_table + "[instances.web]\ncpus = 1\n"),
                  "instances.web.image: missing"));
}

TEST(LabLoader, BuiltInImagesNeedNoTableAndATableMayTuneOrReplaceThem) {
  const auto bare = parse_ok("[instances.web]\nimage = \"debian-13\"\n");
  const auto& d13 = bare.images.at("debian-13");
  EXPECT_EQ(
      d13.url,
      "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2");
  EXPECT_EQ(d13.checksum_url, "https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS");
  EXPECT_EQ(d13.recipe, "debian-13");
  EXPECT_EQ(d13.firmware, Firmware::bios);
  EXPECT_EQ(parse_ok("[instances.web]\nimage = \"debian-12\"\n").images.at("debian-12").url,
            "https://cloud.debian.org/images/cloud/bookworm/latest/"
            "debian-12-genericcloud-amd64.qcow2");
  const auto tuned =
      parse_ok("[images.debian-13]\nfirmware = \"uefi\"\n[instances.web]\nimage = \"debian-13\"\n");
  EXPECT_EQ(tuned.images.at("debian-13").firmware, Firmware::uefi);
  EXPECT_EQ(tuned.images.at("debian-13").recipe, "debian-13") << "still the built-in source";
  EXPECT_EQ(tuned.images.at("debian-13").url, d13.url);
  const auto own = parse_ok("[images.debian-13]\nurl = \"https://mirror.example/d13.qcow2\"\n"
                            "checksum = \"sha256:" +
                            std::string(64, 'a') + "\"\n[instances.web]\nimage = \"debian-13\"\n");
  EXPECT_EQ(own.images.at("debian-13").url, "https://mirror.example/d13.qcow2");
  EXPECT_TRUE(own.images.at("debian-13").checksum_url.empty());
  EXPECT_TRUE(own.images.at("debian-13").recipe.empty()) << "the lab's own image";
  EXPECT_EQ(d13.interface_names, InterfaceNames::guest) << "the official images name their NICs";
  EXPECT_FALSE(bare.instances[0].seed.rename_nics);
  const auto renamed = parse_ok("[images.debian-13]\ninterface_names = \"kvmrun\"\n"
                                "[instances.web]\nimage = \"debian-13\"\n");
  EXPECT_TRUE(renamed.instances[0].seed.rename_nics);
  EXPECT_TRUE(renamed.images.at("debian-13").interface_names_given);
  EXPECT_TRUE(has(parse_error("[images.debian-13]\ninterface_names = \"eth\"\n"
                              "[instances.web]\nimage = \"debian-13\"\n"),
                  "images.debian-13.interface_names: expected \"guest\""));
  EXPECT_TRUE(has(parse_error("[instances.web]\nimage = \"debian-11\"\n"),
                  "no image \"debian-11\" in [images]; define [images.debian-11] or use a built-in "
                  "image (debian-12, debian-13)"));
}

TEST(LabLoader, ImagesNeedExactlyOneChecksumSourceAndHttpsUnlessAllowed) {
  const std::string inst = "[instances.web]\nimage = \"i\"\n";
  EXPECT_TRUE(has(parse_error("[images.i]\nurl = \"https://x/i\"\n" + inst),
                  "give exactly one of checksum"));
  EXPECT_TRUE(has(parse_error("[images.i]\nurl = \"https://x/i\"\nchecksum = \"sha256:" +
                              std::string(64, 'a') + "\"\nchecksum_url = \"https://x/S\"\n" + inst),
                  "give exactly one of checksum"));
  EXPECT_TRUE(
      has(parse_error("[images.i]\nurl = \"http://x/i\"\nchecksum_url = \"https://x/S\"\n" + inst),
          "plain http is not verified in transit"));
  EXPECT_TRUE(
      has(parse_error("[images.i]\nurl = \"ftp://x/i\"\nchecksum_url = \"https://x/S\"\n" + inst),
          "images.i.url: expected an https://"));
  EXPECT_TRUE(has(parse_error("[images.i]\nurl = \"https://x/i\"\nchecksum = \"md5:00\"\n" + inst),
                  "images.i.checksum: expected \"sha256:"));
  const auto ok = parse_ok("[images.i]\nurl = \"http://x/i\"\nchecksum_url = \"https://x/S\"\n"
                           "allow_http = true\nfirmware = \"uefi\"\nformat = \"raw\"\n" +
                           inst);
  EXPECT_EQ(ok.images.at("i").firmware, Firmware::uefi);
  EXPECT_EQ(ok.images.at("i").format, DiskFormat::raw);
  const auto policy = parse_ok("[images.i]\nurl = \"https://x/i\"\nchecksum_url = \"https://x/S\"\n"
                               "verify = \"full\"\nchecksum_refresh = \"24h\"\n" +
                               inst);
  EXPECT_TRUE(policy.images.at("i").verify_in_full);
  EXPECT_EQ(policy.images.at("i").checksum_refresh, std::chrono::hours(24));
  EXPECT_EQ(ok.images.at("i").checksum_refresh, std::chrono::seconds(0)) << "always, by default";
  EXPECT_FALSE(ok.images.at("i").verify_in_full);
  EXPECT_EQ(parse_ok("[images.i]\nurl = \"https://x/i\"\nchecksum_url = \"https://x/S\"\n"
                     "checksum_refresh = \"never\"\n" +
                     inst)
                .images.at("i")
                .checksum_refresh,
            std::chrono::seconds::max());
  EXPECT_TRUE(has(parse_error("[images.i]\nurl = \"https://x/i\"\nchecksum_url = \"https://x/S\"\n"
                              "checksum_refresh = \"daily\"\n" +
                              inst),
                  "images.i.checksum_refresh: expected \"always\" (the default), \"never\" or a "
                  "duration"));
  EXPECT_TRUE(has(parse_error("[images.i]\nurl = \"https://x/i\"\nchecksum_url = \"https://x/S\"\n"
                              "verify = \"sometimes\"\n" +
                              inst),
                  "images.i.verify: expected \"quick\""));
  const auto secure = parse_ok("[images.i]\nurl = \"https://x/i\"\nchecksum_url = \"https://x/S\"\n"
                               "firmware = \"uefi-secure\"\n" +
                               inst);
  EXPECT_EQ(secure.images.at("i").firmware, Firmware::uefi_secure);
  EXPECT_TRUE(has(parse_error("[images.i]\nurl = \"https://x/i\"\nchecksum_url = \"https://x/S\"\n"
                              "firmware = \"efi\"\n" +
                              inst),
                  "images.i.firmware: expected \"bios\", \"uefi\" or \"uefi-secure\" (UEFI with "
                  "Secure Boot), got \"efi\""));
}

TEST(LabLoader, PasswordsAreHashedAndPlainTextNeedsAnExplicitSetting) {
  const std::string lab = image_table + "[instances.web]\nimage = \"deb\"\n";
  const auto hashed =
      parse_ok(lab + "[[instances.web.cloud_init.users]]\nname = \"ann\"\npassword = \"s3cret\"\n");
  const auto& ann = hashed.instances[0].seed.users[0];
  EXPECT_EQ(ann.password_hash.rfind("$6$", 0), 0U);
  EXPECT_TRUE(ann.plain_password.empty());
  EXPECT_TRUE(hashed.instances[0].warnings.empty());

  const auto yes = parse_ok(lab + "[[instances.web.cloud_init.users]]\nname = \"ann\"\n"
                                  "password = \"s3cret\"\npassword_scheme = \"yescrypt\"\n");
  EXPECT_EQ(yes.instances[0].seed.users[0].password_hash.rfind("$y$", 0), 0U);
  const auto bad_scheme = parse_error(lab + "[[instances.web.cloud_init.users]]\nname = \"ann\"\n"
                                            "password = \"s3cret\"\npassword_scheme = \"md5\"\n");
  EXPECT_TRUE(has(bad_scheme, "users[0].password_scheme: expected \"sha512\" (the default, for "
                              "any guest) or \"yescrypt\", got \"md5\""))
      << bad_scheme;
  const auto lone_scheme = parse_error(lab + "[[instances.web.cloud_init.users]]\nname = \"ann\"\n"
                                             "password_scheme = \"yescrypt\"\n");
  EXPECT_TRUE(has(lone_scheme, "users[0].password_scheme: applies to password")) << lone_scheme;

  const auto e = parse_error(
      lab + "[[instances.web.cloud_init.users]]\nname = \"ann\"\nplain_password = \"s3cret\"\n");
  EXPECT_TRUE(has(e, "users[0].plain_password: a plain-text password would be stored")) << e;
  EXPECT_FALSE(has(e, "s3cret")) << "the error repeats the secret";

  const auto plain = parse_ok(
      lab + "[instances.web.cloud_init]\nallow_plain_password = true\n"
            "[[instances.web.cloud_init.users]]\nname = \"ann\"\nplain_password = \"s3cret\"\n");
  EXPECT_EQ(plain.instances[0].seed.users[0].plain_password, "s3cret");
  ASSERT_EQ(plain.instances[0].warnings.size(), 1U);
  EXPECT_FALSE(has(plain.instances[0].warnings[0], "s3cret"));
}

TEST(LabLoader, DeclaredUsersGetTheLabKeyUnlessToldNotToAndImagesNameTheirDefaultUser) {
  const auto lab = parse_ok(image_table + "[instances.web]\nimage = \"deb\"\n"
                                          "[[instances.web.cloud_init.users]]\nname = \"ann\"\n"
                                          "[[instances.web.cloud_init.users]]\nname = \"bob\"\n"
                                          "kvmrun_key = false\n");
  EXPECT_EQ(lab.instances[0].lab_key_users, std::vector<std::string>{"ann"});
  EXPECT_EQ(lab.images.at("deb").default_user, "debian");
  const auto ubuntu = parse_ok(
      "[images.deb]\nurl = \"https://example.org/u.qcow2\"\nchecksum_url = "
      "\"https://example.org/SHA256SUMS\"\ndefault_user = \"ubuntu\"\n[instances.web]\nimage = "
      "\"deb\"\n");
  EXPECT_EQ(ubuntu.images.at("deb").default_user, "ubuntu");
  const auto e = parse_error("[images.deb]\nurl = \"https://example.org/u.qcow2\"\nchecksum_url = "
                             "\"https://example.org/SHA256SUMS\"\ndefault_user = \"Root User\"\n"
                             "[instances.web]\nimage = \"deb\"\n");
  EXPECT_TRUE(has(e, "images.deb.default_user: expected a user name")) << e;
  const auto t = parse_error(image_table + "[instances.web]\nimage = \"deb\"\n"
                                           "[[instances.web.cloud_init.users]]\nname = \"ann\"\n"
                                           "kvmrun_key = \"no\"\n");
  EXPECT_TRUE(has(t, "users[0].kvmrun_key")) << t;
}

TEST(LabLoader, SnapshotWhenReadyTakesAPlainTag) {
  const std::string lab = image_table + "[instances.web]\nimage = \"deb\"\n";
  EXPECT_EQ(parse_ok(lab + "snapshot_when_ready = \"fresh-1\"\n").instances[0].snapshot_when_ready,
            "fresh-1");
  EXPECT_TRUE(parse_ok(lab).instances[0].snapshot_when_ready.empty());
  EXPECT_TRUE(has(parse_error(lab + "snapshot_when_ready = \"Fresh Start\"\n"),
                  "instances.web.snapshot_when_ready: expected a snapshot tag"));
}

TEST(LabLoader, DiskIoIsCheckedAndExtraDisksInheritIt) {
  const std::string lab = image_table + "[instances.web]\nimage = \"deb\"\n";
  const auto plain = parse_ok(lab);
  EXPECT_EQ(plain.instances[0].disk_io.cache, DiskCache::writeback);
  EXPECT_EQ(plain.instances[0].disk_io.aio, DiskAio::threads);
  EXPECT_TRUE(plain.instances[0].disk_io.discard);
  const auto set = parse_ok(lab + "disk_io = { cache = \"none\", aio = \"native\" }\n"
                                  "disks = [{ name = \"a\", size = \"1GiB\" },"
                                  " { name = \"b\", size = \"1GiB\", cache = \"unsafe\", aio = "
                                  "\"io_uring\", discard = false }]\n");
  const auto& web = set.instances[0];
  EXPECT_EQ(web.disk_io.cache, DiskCache::none);
  EXPECT_EQ(web.disks[0].io.aio, DiskAio::native);
  EXPECT_EQ(web.disks[1].io.cache, DiskCache::unsafe);
  EXPECT_EQ(web.disks[1].io.aio, DiskAio::io_uring);
  EXPECT_FALSE(web.disks[1].io.discard);
  EXPECT_TRUE(has(parse_error(lab + "disk_io = { cache = \"directsync\" }\n"),
                  "instances.web.disk_io.cache: expected \"writeback\" (the default), \"none\""));
  EXPECT_TRUE(has(parse_error(lab + "disk_io = { aio = \"posix\" }\n"),
                  "instances.web.disk_io.aio: expected \"threads\" (the default), \"native\" or "
                  "\"io_uring\""));
  EXPECT_TRUE(has(parse_error(lab + "disk_io = { aio = \"native\" }\n"),
                  "instances.web.disk_io.aio: aio = \"native\" needs cache = \"none\""));
  EXPECT_TRUE(
      has(parse_error(lab + "disks = [{ name = \"a\", size = \"1GiB\", aio = \"native\" }]\n"),
          "instances.web.disks[0].aio: aio = \"native\" needs cache = \"none\""));
  EXPECT_TRUE(has(parse_error(lab + "disk_io = { cache = \"none\", speed = 3 }\n"), "speed"));
}

TEST(LabLoader, ExtraDisksBecomeCloudInitFilesystemsAndMounts) {
  const auto lab = parse_ok(
      image_table + "[instances.web]\nimage = \"deb\"\n"
                    "disks = [{ name = \"data\", size = \"1GiB\", mount = \"/srv/data\" }]\n");
  const auto& disk = lab.instances[0].disks.at(0);
  EXPECT_EQ(disk.size_bytes, 1ULL << 30U);
  EXPECT_EQ(disk.filesystem, "ext4");
  const auto& seed_disk = lab.instances[0].seed.disks.at(0);
  EXPECT_EQ(seed_disk.device, "/dev/disk/by-id/virtio-data");
  EXPECT_EQ(seed_disk.mount_point, "/srv/data");
  EXPECT_TRUE(has(
      parse_error(
          image_table +
          "[instances.web]\nimage = \"deb\"\n"
          "disks = [{ name = \"d\", size = \"1GiB\", filesystem = \"none\", mount = \"/x\" }]\n"),
      "cannot be mounted"));
}

TEST(LabLoader, InvalidTomlReportsLineAndColumn) {
  const auto r = parse_lab("[instances.web\nimage = 1\n", "bad.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.error().message(), "bad.toml:1:")) << r.error().message();
  EXPECT_TRUE(has(r.error().message(), "invalid TOML")) << r.error().message();
}

TEST(LabLoader, EveryProblemIsReportedInOneGo) {
  const auto e = parse_error(image_table + "[instances.web]\nimage = \"deb\"\ncpus = 0\nbogus = 1\n"
                                           "network = { mac = \"ff:ff:ff:ff:ff:ff\" }\n");
  EXPECT_TRUE(has(e, "3 problems")) << e;
}

TEST(LabLoader, ALabWithoutInstancesIsAnError) {
  EXPECT_TRUE(has(parse_error(image_table), "a lab needs at least one [instances.NAME] table"));
}

TEST(LabLoader, TheConfigHashFollowsTheText) {
  const std::string text = image_table + "[instances.web]\nimage = \"deb\"\n";
  EXPECT_EQ(parse_ok(text).config_hash, parse_ok(text).config_hash);
  EXPECT_NE(parse_ok(text).config_hash, parse_ok(text + "cpus = 2\n").config_hash);
}

TEST(ExampleLabs, EveryConfigInTheConfigsFolderLoads) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(KVMRUN_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".toml")
      continue;
    ++count;
    const auto lab = load_lab(entry.path());
    EXPECT_TRUE(lab.ok()) << entry.path() << ": " << (lab.ok() ? "" : lab.error().describe());
  }
  EXPECT_GE(count, 3U);
}

TEST(ExampleLabs, TheClusterHasThreeNodesWithStaticAddressesOnOneLabNetwork) {
  const auto lab = load_lab(KVMRUN_SOURCE_DIR "/configs/cluster.toml");
  ASSERT_TRUE(lab.ok()) << lab.error().describe();
  ASSERT_EQ(lab->instances.size(), 3U);
  ASSERT_EQ(lab->networks.size(), 1U);
  EXPECT_EQ(lab->networks[0].subnet, "192.168.122.0/24");
  EXPECT_EQ(lab->instances[2].seed.segment_nics.at(0).address, "192.168.122.12/24");
  EXPECT_EQ(lab->instances[2].seed.segment_nics.at(0).mac, "52:54:00:c1:00:03");
  EXPECT_EQ(lab->instances[2].cpus, 2U);
  EXPECT_EQ(lab->instances[0].seed.hosts.size(), 3U);
  EXPECT_EQ(lab->instances[0].seed.users.at(0).name, "admin");
}

TEST(LoadLab, AMissingFileIsAnIoErrorNamingIt) {
  const auto r = load_lab("/nonexistent/lab.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::io);
  EXPECT_TRUE(has(r.error().describe(), "/nonexistent/lab.toml"));
}

} // namespace
} // namespace kvmrun::lab

namespace kvmrun::lab {
namespace {

// Found by tests/fuzz: toml++ 3.3.0 aborted on these instead of reporting an error.
TEST(LabLoader, TableHeadersWithoutAKeyAreSyntaxErrorsNotCrashes) {
  for (const char* text : {"[[[1]]]\n", "[[=\n", "[#comment]\n", "x = 1\n  [ ]\n", "[\n"}) {
    const auto r = parse_lab(text, "lab.toml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::config);
    EXPECT_NE(r.error().message().find("invalid TOML"), std::string::npos) << text;
  }
}

TEST(LabLoader, NonAsciiOutsideStringsIsASyntaxErrorNotUndefinedBehaviour) {
  for (const char* text : {"\xc3\xab  \n", "x = 1 \xc2\xa0\n",
                           "[instances.w\xc3\xa9"
                           "b]\n",
                           "c=2\"\xc6\x8c\n"}) {
    const auto r = parse_lab(text, "lab.toml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find("invalid TOML"), std::string::npos) << r.error().message();
  }
  const auto ok =
      parse_lab(image_table + "# caf\xc3\xa9\n[instances.web]\nimage = \"deb\"\n"
                              "[instances.web.cloud_init]\ntimezone = \"caf\xc3\xa9\"\n",
                "lab.toml");
  EXPECT_TRUE(ok.ok()) << ok.error().describe();
}

TEST(LabLoader, InputThatBreaksTheTomlParsersPreconditionsIsASyntaxError) {
  for (const char* text : {"a = [}\n", "[instances.a]\nforwards = [}\n", "a = [1,}\n"}) {
    const auto r = parse_lab(text, "lab.toml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::config);
    EXPECT_NE(r.error().message().find("invalid TOML"), std::string::npos);
  }
}

TEST(LabLoader, BracketLinesInsideMultiLineStringsAreNotTakenForHeaders) {
  const auto r = parse_lab(image_table + "[instances.web]\nimage = \"deb\"\n"
                                         "[[instances.web.cloud_init.write_files]]\n"
                                         "path = \"/etc/x\"\ncontent = \"\"\"\n[ ]\n[#]\n\"\"\"\n"
                                         "[[instances.web.cloud_init.write_files]]\n"
                                         "path = \"/etc/y\"\ncontent = '''\n[=\n'''\n",
                           "lab.toml");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->instances[0].seed.write_files[0].content, "[ ]\n[#]\n");
  EXPECT_EQ(r->instances[0].seed.write_files[1].content, "[=\n");
}

} // namespace
} // namespace kvmrun::lab
