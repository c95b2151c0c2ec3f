#include "host/host_facts.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace kvmrun::host {
namespace {

using kvmrun::testing::TempDir;
using kvmrun::testing::write_file;
using kvmrun::testing::write_script;

TEST(QemuVersionParse, ReadsDistributionAndUpstreamVersionLines) {
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)"),
            (QemuVersion{7, 2, 22}));
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 8.0.0\nCopyright"), (QemuVersion{8, 0, 0}));
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 9.1"), (QemuVersion{9, 1, 0}));
  EXPECT_FALSE(parse_qemu_version("qemu").has_value());
  EXPECT_FALSE(parse_qemu_version("QEMU emulator version x.y").has_value());
  EXPECT_FALSE(parse_qemu_version("QEMU emulator version 7").has_value());
}

TEST(QemuVersionParse, OrdersVersionsNumerically) {
  EXPECT_LT((QemuVersion{6, 1, 9}), (QemuVersion{6, 2, 0}));
  EXPECT_LT((QemuVersion{6, 10, 0}), (QemuVersion{7, 0, 0}));
  EXPECT_EQ(to_string(QemuVersion{6, 2, 0}), "6.2.0");
}

TEST(GroupName, ReadsTheNameOfAGidFromAGroupFile) {
  TempDir dir;
  write_file(dir / "group", "root:x:0:\nbroken line\nkvm:x:994:ann,bob\nkvm2:x:9940:\n");
  EXPECT_EQ(group_name(994, dir / "group"), "kvm");
  EXPECT_EQ(group_name(0, dir / "group"), "root");
  EXPECT_EQ(group_name(12345, dir / "group"), "12345");
  EXPECT_EQ(group_name(1, dir / "missing"), "1");
}

// A fake host tree: PATH with a scripted qemu, sysfs modules, firmware files and directories.
struct FakeHost {
  TempDir dir;
  HostPaths paths;

  FakeHost() {
    paths.search_path = (dir / "bin").string();
    paths.dev_kvm = dir / "dev" / "kvm";
    paths.sys_module = dir / "sys" / "module";
    paths.group_file = dir / "group";
    paths.bios = {dir / "seabios" / "bios-256k.bin"};
    paths.uefi = {{dir / "ovmf" / "CODE.fd", dir / "ovmf" / "VARS.fd"}};
    paths.uefi_secure = {{dir / "ovmf" / "CODE.secboot.fd", dir / "ovmf" / "VARS.ms.fd"}};
    paths.space = {{"state", dir / "state" / "kvmrun"}};
    write_file(dir / "group", "kvm:x:0:\n");
    std::filesystem::create_directories(paths.sys_module);
  }
};

TEST(GatherHostFacts, RunsTheQemuFoundOnThePathAndRecordsItsVersionLine) {
  FakeHost host;
  write_script(host.dir / "bin" / "qemu-system-x86_64",
               "echo 'QEMU emulator version 8.2.1'; echo 'Copyright'");
  const HostFacts f = gather_host_facts(host.paths);
  ASSERT_TRUE(f.qemu.path.has_value());
  EXPECT_EQ(*f.qemu.path, host.dir / "bin" / "qemu-system-x86_64");
  EXPECT_EQ(f.qemu.version_line, "QEMU emulator version 8.2.1");
  EXPECT_TRUE(f.qemu.error.empty());
}

TEST(GatherHostFacts, AQemuThatFailsIsReportedWithItsExitCodeAndStderr) {
  FakeHost host;
  write_script(host.dir / "bin" / "qemu-system-x86_64", "echo 'missing libslirp' >&2; exit 127");
  const HostFacts f = gather_host_facts(host.paths);
  EXPECT_NE(f.qemu.error.find("exit 127"), std::string::npos);
  EXPECT_NE(f.qemu.error.find("missing libslirp"), std::string::npos);
}

TEST(GatherHostFacts, NoQemuOnThePathLeavesItsPathEmpty) {
  FakeHost host;
  EXPECT_FALSE(gather_host_facts(host.paths).qemu.path.has_value());
}

TEST(GatherHostFacts, ListsTheLoadedKvmModules) {
  FakeHost host;
  std::filesystem::create_directories(host.paths.sys_module / "kvm");
  std::filesystem::create_directories(host.paths.sys_module / "kvm_pvm");
  std::filesystem::create_directories(host.paths.sys_module / "ext4");
  const HostFacts f = gather_host_facts(host.paths);
  EXPECT_EQ(f.kvm_modules, (std::vector<std::string>{"kvm", "kvm_pvm"}));
}

TEST(GatherHostFacts, AMissingKvmDeviceIsNotProbed) {
  FakeHost host;
  const HostFacts f = gather_host_facts(host.paths);
  EXPECT_FALSE(f.kvm_device.exists);
  EXPECT_FALSE(f.kvm_probe.has_value());
}

TEST(GatherHostFacts, ARegularFileInPlaceOfTheKvmDeviceIsNotACharacterDevice) {
  FakeHost host;
  write_file(host.paths.dev_kvm, "");
  const HostFacts f = gather_host_facts(host.paths);
  EXPECT_TRUE(f.kvm_device.exists);
  EXPECT_FALSE(f.kvm_device.is_char_device);
  EXPECT_FALSE(f.kvm_device.usable());
  EXPECT_FALSE(f.kvm_probe.has_value());
  EXPECT_EQ(f.kvm_device.group, "kvm");
}

TEST(GatherHostFacts, FindsFirmwareOnlyWhenTheFilesExistAndAreNotEmpty) {
  FakeHost host;
  write_file(host.dir / "seabios" / "bios-256k.bin", "");
  write_file(host.dir / "ovmf" / "CODE.fd", "code");
  HostFacts f = gather_host_facts(host.paths);
  EXPECT_FALSE(f.firmware.bios.has_value()); // empty file
  EXPECT_FALSE(f.firmware.uefi.has_value()); // vars missing
  write_file(host.dir / "seabios" / "bios-256k.bin", "bios");
  write_file(host.dir / "ovmf" / "VARS.fd", "vars");
  f = gather_host_facts(host.paths);
  EXPECT_EQ(f.firmware.bios, host.dir / "seabios" / "bios-256k.bin");
  ASSERT_TRUE(f.firmware.uefi.has_value());
  EXPECT_EQ(f.firmware.uefi->vars, host.dir / "ovmf" / "VARS.fd");
  EXPECT_FALSE(f.firmware.secure.has_value());
  write_file(host.dir / "ovmf" / "CODE.secboot.fd", "secure code");
  write_file(host.dir / "ovmf" / "VARS.ms.fd", "vars with keys");
  f = gather_host_facts(host.paths);
  ASSERT_TRUE(f.firmware.secure.has_value());
  EXPECT_EQ(f.firmware.secure->code, host.dir / "ovmf" / "CODE.secboot.fd");
  EXPECT_EQ(f.firmware.secure->vars, host.dir / "ovmf" / "VARS.ms.fd");
}

TEST(GatherHostFacts, MeasuresSpaceAtTheNearestExistingAncestor) {
  FakeHost host;
  const HostFacts f = gather_host_facts(host.paths);
  ASSERT_EQ(f.space.size(), 1U);
  EXPECT_EQ(f.space[0].probed, host.dir.path());
  EXPECT_GT(f.space[0].free_bytes, 0U);
  EXPECT_TRUE(f.space[0].writable);
  EXPECT_TRUE(f.space[0].error.empty());
}

} // namespace
} // namespace kvmrun::host
