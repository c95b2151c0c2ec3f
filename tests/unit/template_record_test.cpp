// Templates' pure parts: the device set a restore must match, the record's file format (and its
// damaged forms), the digests of its files, each refusal of a clone, and NIC adoption.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "instance/qemu_argv.hpp"
#include "lab/loader.hpp"
#include "templates/record.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

namespace kvmrun::templates {
namespace {

constexpr const char* lab_text = R"(
[lab]
name = "lab"
[images.debian-12]
url = "https://example.org/d.qcow2"
checksum = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
[networks.lan]
subnet = "192.168.50.0/24"
[instances.web]
image = "debian-12"
cpus = 2
memory = "1GiB"
forwards = [{ host = 2222, guest = 22 }]
disks = [{ name = "data", size = "1GiB" }]
networks = [{ name = "lan", address = "192.168.50.10" }]
[instances.xcopy]
image = "debian-12"
cpus = 2
memory = "1GiB"
template = "web-ready"
on_clone = ["rm -f /etc/ssh/ssh_host_* && ssh-keygen -A"]
forwards = [{ host = 2223, guest = 22 }]
disks = [{ name = "data", size = "1GiB" }]
networks = [{ name = "lan", address = "192.168.50.11" }]
)";

lab::LabSpec the_lab() {
  auto lab = lab::parse_lab(lab_text, "t.toml");
  EXPECT_TRUE(lab.ok()) << lab.error().describe();
  return *lab;
}

std::vector<std::string> argv_of(const lab::LabSpec& lab, const lab::InstanceSpec& i,
                                 bool incoming) {
  instance::QemuLaunch l;
  l.lab = lab.name;
  l.instance = i;
  l.image = lab.images.at(i.image);
  l.paths = instance::InstancePaths{"/s/lab/" + i.name, "/r/lab/" + i.name};
  l.incoming = incoming;
  return instance::qemu_argv(l);
}

// What `template save` would record for the lab's first instance.
TemplateRecord record_of(const lab::LabSpec& lab) {
  const auto& web = lab.instances.front();
  TemplateRecord r;
  r.name = "web-ready";
  r.created = "2026-12-01T17:00:00Z";
  r.lab = lab.name;
  r.instance = web.name;
  r.instance_id = "web-0123456789abcdef";
  r.image = web.image;
  r.base_digest = "sha256:00";
  r.base_file = "/c/images/debian-12/sha256-00.qcow2";
  r.hostname = "web";
  r.qemu_version = "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)";
  r.accel = "tcg";
  r.cpus = web.cpus;
  r.memory_bytes = web.memory_bytes;
  r.firmware = "bios";
  r.devices = device_set(argv_of(lab, web, false));
  r.nics = {{"", web.seed.network.mac, ""}, {"lan", web.attachments[0].mac, "192.168.50.10"}};
  r.disks = {"data"};
  r.files = {{"state", "state", std::string(64, 'a'), {1, 2, 3}},
             {"disk", "disk.qcow2", std::string(64, 'b'), {4, 5, 6}}};
  r.state_bytes = 100;
  r.ram_bytes = 1U << 30U;
  r.save_ms = 640;
  r.instance_after = "stopped";
  return r;
}

CloneHost host_for(const lab::LabSpec& lab, const lab::InstanceSpec& clone) {
  return CloneHost{"7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)", "tcg", "",
                   argv_of(lab, clone, true)};
}

TEST(TemplateArgv, EveryInstanceHasAVmgenidAndOnlyAClonesQemuWaitsForIncomingState) {
  const auto lab = the_lab();
  const auto cold = argv_of(lab, lab.instances[0], false);
  const auto clone = argv_of(lab, lab.instances[0], true);
  EXPECT_NE(std::find(cold.begin(), cold.end(), "vmgenid,guid=auto"), cold.end());
  EXPECT_EQ(std::find(cold.begin(), cold.end(), "-incoming"), cold.end());
  ASSERT_GE(clone.size(), 2U);
  EXPECT_EQ(clone[clone.size() - 2], "-incoming");
  EXPECT_EQ(clone.back(), "defer");
}

TEST(TemplateDeviceSet, IgnoresPathsNamesForwardsAndMacsButKeepsDevicesInOrder) {
  const auto lab = the_lab();
  const auto web = device_set(argv_of(lab, lab.instances[0], false));
  auto other = lab.instances[1];
  other.attachments[0].mac = "52:54:00:99:99:99";
  EXPECT_EQ(web, device_set(argv_of(lab, other, true)));
  ASSERT_FALSE(web.empty());
  EXPECT_EQ(web.front(), "-machine q35");
  EXPECT_NE(std::find(web.begin(), web.end(), "-device virtio-net-pci,netdev=lan-lan"), web.end());
  EXPECT_NE(std::find(web.begin(), web.end(), "-device vmgenid,guid=auto"), web.end());
  for (const auto& d : web)
    EXPECT_EQ(d.find("mac="), std::string::npos) << d;
}

TEST(TemplateRecordFile, RoundTripsAndIsWrittenReadOnly) {
  const testing::TempDir dir;
  const auto t = dir / "web-ready";
  std::filesystem::create_directories(t);
  const auto lab = the_lab();
  const auto r = record_of(lab);
  ASSERT_TRUE(write_record(t, r).ok());
  struct stat st {};
  ASSERT_EQ(::stat(record_file(t).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444U);
  auto back = read_record(t);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->devices, r.devices);
  EXPECT_EQ(back->qemu_version, r.qemu_version);
  EXPECT_EQ(back->memory_bytes, r.memory_bytes);
  ASSERT_EQ(back->nics.size(), 2U);
  EXPECT_EQ(back->nics[1].address, "192.168.50.10");
  ASSERT_EQ(back->files.size(), 2U);
  EXPECT_EQ(back->files[1].stamp, (FileStamp{4, 5, 6}));
  EXPECT_EQ(back->save_ms, 640U);
}

TEST(TemplateRecordFile, AMissingTemplateNamesTheCommandsThatListAndMakeThem) {
  const testing::TempDir dir;
  auto r = read_record(dir / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::config);
  EXPECT_NE(r.error().remedy().find("kvmrun template list"), std::string::npos);
  EXPECT_NE(r.error().remedy().find("kvmrun template save INSTANCE nope"), std::string::npos);
}

TEST(TemplateRecordFile, ATornEditedOrRenamedRecordIsAnErrorNamingTheFileNeverAnAbort) {
  const testing::TempDir dir;
  const auto t = dir / "web-ready";
  std::filesystem::create_directories(t);
  const auto lab = the_lab();
  ASSERT_TRUE(write_record(t, record_of(lab)).ok());
  const auto file = record_file(t);
  const auto whole = *read_file(file, 1U << 20U);
  const auto rewrite = [&](const std::string& text) {
    std::filesystem::permissions(file, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    testing::write_file(file, text);
  };
  for (const std::size_t cut :
       {std::size_t{0}, std::size_t{1}, whole.size() / 2, whole.size() - 3}) {
    rewrite(whole.substr(0, cut));
    auto r = read_record(t);
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().code(), ErrorCode::io);
    EXPECT_NE(r.error().describe().find(file.string()), std::string::npos) << r.error().describe();
    EXPECT_NE(r.error().remedy().find("template delete web-ready"), std::string::npos);
  }
  std::string edited = whole;
  edited.replace(edited.find("\"cpus\":2"), 8, "\"cpus\":\"two\"");
  rewrite(edited);
  auto r = read_record(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("cpus"), std::string::npos) << r.error().describe();
  edited = whole;
  edited.replace(edited.find("\"file\":\"state\""), 14, "\"file\":\"../../etc/passwd\"");
  rewrite(edited);
  r = read_record(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("not a file name"), std::string::npos);
  rewrite(whole);
  const auto moved = dir / "renamed";
  std::filesystem::rename(t, moved);
  r = read_record(moved);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("names template 'web-ready'"), std::string::npos);
}

TEST(TemplateFiles, AQuickCheckTrustsAnUnchangedStampAndAFullOneFindsASameStampEdit) {
  const testing::TempDir dir;
  const auto file = dir / "state";
  testing::write_file(file, "the saved state");
  TemplateRecord r;
  r.name = "t";
  r.files = {{"state", "state", sha256_hex("the saved state"), *stamp_file(file)}};
  std::string how;
  ASSERT_TRUE(verify_files(dir.path(), r, false, &how).ok());
  EXPECT_NE(how.find("unchanged"), std::string::npos);
  ASSERT_TRUE(verify_files(dir.path(), r, true, &how).ok());
  EXPECT_NE(how.find("1 file(s) hashed"), std::string::npos);

  // An edit in place that keeps size, inode and mtime: only the full check sees it.
  struct stat before {};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  {
    const int fd = ::open(file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "T", 1, 0), 1);
    const timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::futimens(fd, times), 0);
    ::close(fd);
  }
  EXPECT_TRUE(verify_files(dir.path(), r, false).ok());
  auto full = verify_files(dir.path(), r, true);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), ErrorCode::image);
  EXPECT_NE(full.error().message().find(file.string()), std::string::npos);
  EXPECT_NE(full.error().remedy().find("save it again"), std::string::npos);

  // An ordinary edit changes the stamp, so even the quick check hashes and refuses.
  testing::write_file(file, "another state!!");
  auto quick = verify_files(dir.path(), r, false);
  ASSERT_FALSE(quick.ok());
  EXPECT_NE(quick.error().message().find("has sha256"), std::string::npos);
  std::filesystem::remove(file);
  quick = verify_files(dir.path(), r, false);
  ASSERT_FALSE(quick.ok());
  EXPECT_NE(quick.error().message().find("missing"), std::string::npos);
}

TEST(TemplateClone, AMatchingCloneIsAccepted) {
  auto lab = the_lab();
  const auto r = record_of(lab);
  auto clone = lab.instances[1];
  clone.attachments[0].address = "192.168.50.10";
  ASSERT_TRUE(adopt_nics(r, clone).ok());
  const auto ok = check_clone(r, clone, lab.images.at(clone.image), host_for(lab, clone));
  EXPECT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(clone.attachments[0].mac, lab.instances[0].attachments[0].mac);
  EXPECT_EQ(clone.seed.network.mac, lab.instances[0].seed.network.mac);
  EXPECT_EQ(clone.seed.segment_nics[0].mac, lab.instances[0].attachments[0].mac);
}

// Each refusal names both values and a way out, before QEMU starts.
TEST(TemplateClone, EachDifferenceFromTheTemplateIsRefusedWithBothValues) {
  const auto lab = the_lab();
  const auto r = record_of(lab);
  const auto base = lab.instances[1];
  const auto image = lab.images.at(base.image);
  struct Case {
    std::string what;
    std::function<void(lab::InstanceSpec&, CloneHost&)> change;
    std::vector<std::string> said;
    ErrorCode code;
  };
  const std::vector<Case> cases{
      {"qemu version",
       [](auto&, auto& h) { h.qemu_version = "8.0.0"; },
       {"saved by QEMU 7.2.22", "runs QEMU 8.0.0"},
       ErrorCode::host},
      {"accelerator",
       [](auto&, auto& h) { h.accel = "kvm"; },
       {"saved under tcg", "under kvm", "--accel tcg"},
       ErrorCode::host},
      {"cpus",
       [](auto& c, auto&) { c.cpus = 4; },
       {"2 CPU(s), the instance 4", "cpus = 2"},
       ErrorCode::config},
      {"memory",
       [](auto& c, auto&) { c.memory_bytes = 2ULL << 30U; },
       {"1024 MiB of memory, the instance 2048 MiB", "memory = \"1024MiB\""},
       ErrorCode::config},
      {"image",
       [](auto& c, auto&) { c.image = "other"; },
       {"image 'debian-12'", "image 'other'"},
       ErrorCode::config},
      {"firmware",
       [](auto&, auto& h) { h.firmware_sha256 = "ff"; },
       {"firmware bios"},
       ErrorCode::host},
      {"devices",
       [](auto&, auto& h) {
         h.argv.insert(h.argv.end(), {"-device", "virtio-balloon-pci"});
       },
       {"(nothing)", "virtio-balloon-pci", "same devices in the same order"},
       ErrorCode::config},
  };
  for (const auto& c : cases) {
    auto clone = base;
    auto host = host_for(lab, clone);
    c.change(clone, host);
    const auto s = check_clone(r, clone, lab.images.at("debian-12"), host);
    ASSERT_FALSE(s.ok()) << c.what;
    EXPECT_EQ(s.error().code(), c.code) << c.what;
    EXPECT_NE(s.error().message().find("cannot be a clone of template 'web-ready'"),
              std::string::npos)
        << s.error().message();
    for (const auto& text : c.said)
      EXPECT_NE((s.error().message() + s.error().remedy()).find(text), std::string::npos)
          << c.what << ": " << s.error().describe();
    EXPECT_FALSE(s.error().remedy().empty()) << c.what;
  }
  (void)image;
}

TEST(TemplateClone, ACloneOnALabNetworkKeepsTheTemplatesAddressOrIsRefused) {
  const auto lab = the_lab();
  const auto r = record_of(lab);
  auto clone = lab.instances[1]; // declares .11; the saved guest has .10
  auto s = adopt_nics(r, clone);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::config);
  EXPECT_NE(s.error().message().find("restored guest keeps 192.168.50.10 on lan"),
            std::string::npos)
      << s.error().describe();
  EXPECT_NE(s.error().message().find("does not re-address"), std::string::npos);
  EXPECT_NE(s.error().remedy().find("address = \"192.168.50.10\""), std::string::npos);
  clone = lab.instances[1];
  clone.attachments.clear();
  s = adopt_nics(r, clone);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("on 0 lab network(s); the template's guest was on 1"),
            std::string::npos);
}

// Two clones of one template on one lab network would share its address: the lab itself is
// refused (each must declare the template's address, and a network's addresses are unique).
TEST(TemplateClone, TwoClonesOfOneTemplateOnOneNetworkAreRefusedByTheLab) {
  std::string text = lab_text;
  text.replace(text.find("192.168.50.11"), 13, "192.168.50.10");
  auto lab = lab::parse_lab(text, "t.toml");
  ASSERT_FALSE(lab.ok());
  EXPECT_NE(lab.error().describe().find("192.168.50.10"), std::string::npos);
}

TEST(TemplateLab, TemplateAndOnCloneAreReadAndABadTemplateNameIsRefused) {
  const auto lab = the_lab();
  EXPECT_EQ(lab.instances[1].template_name, "web-ready");
  ASSERT_EQ(lab.instances[1].on_clone.size(), 1U);
  EXPECT_TRUE(lab.instances[0].template_name.empty());
  std::string text = lab_text;
  text.replace(text.find("\"web-ready\""), 11, "\"Web Ready\"");
  auto bad = lab::parse_lab(text, "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().describe().find("instances.xcopy.template"), std::string::npos)
      << bad.error().describe();
}

TEST(TemplateVersion, TheVersionLineGivesWhatTheGreetingGives) {
  EXPECT_EQ(qemu_version_of("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"),
            "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)");
}

} // namespace
} // namespace kvmrun::templates
