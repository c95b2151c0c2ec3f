// End to end under TCG, guests booted through SeaBIOS and OVMF, one after the other: debian-12 with
// `firmware = "uefi"` passes every gate, sees EFI with Secure Boot off, and a restart keeps the
// instance's own vars file; with `firmware = "uefi-secure"` (signed shim, GRUB and kernel) every
// gate passes and the guest reports Secure Boot on; debian-13 (built by its recipe here, from
// trixie's packages) passes every gate with UEFI. `down --purge-disks` removes the vars files.
#include "tests/e2e/lab_harness.hpp"

#include <sys/stat.h>

#include <iostream>

namespace kvmrun::testing {
namespace {

std::string firmware_lab() {
  const auto guest = build_guest("debian-12").string();
  std::string text = "[lab]\nname = \"fw\"\n";
  for (const std::string mode : {"bios", "uefi", "uefi-secure"})
    text += "[images.d12-" + mode + "]\nurl = \"file://" + guest +
            "/debian-12.qcow2\"\nchecksum_url = \"file://" + guest +
            "/SHA512SUMS\"\nfirmware = \"" + mode + "\"\ninterface_names = \"kvmrun\"\n";
  // debian-13 is the built-in image, tuned to boot with UEFI: its source is the recipe's build.
  build_guest("debian-13");
  text += "[images.debian-13]\nfirmware = \"uefi\"\n";
  return text + R"([defaults]
cpus = 1
memory = "1GiB"
disk = "3GiB"
[instances.bios]
image = "d12-bios"
forwards = [{ host = 22460, guest = 22 }]
[instances.efi]
image = "d12-uefi"
forwards = [{ host = 22461, guest = 22 }]
[instances.secure]
image = "d12-uefi-secure"
forwards = [{ host = 22462, guest = 22 }]
[instances.trixie]
image = "debian-13"
forwards = [{ host = 22463, guest = 22 }]
)";
}

// The SecureBoot variable's value as the guest's kernel reads it (its last byte: 1 is on).
const std::string secure_boot_state =
    "test -d /sys/firmware/efi && od -An -tu1 "
    "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | awk '{print $NF}'";

ino_t inode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

TEST(Firmware, Debian12And13BootThroughOvmfWithAndWithoutSecureBoot) {
  Lab lab(firmware_lab());
  // The same guest through SeaBIOS first, for the gate times of all three in one run.
  auto bios = lab.run({"up", "bios"});
  std::cout << bios.out;
  ASSERT_EQ(bios.exit_code, 0) << bios.out << bios.err;
  EXPECT_EQ(in_guest(lab, "bios", "test -d /sys/firmware/efi && echo efi || echo bios"), "bios\n");
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "fw" / "bios" / "efivars.fd"));
  ASSERT_EQ(lab.run({"down", "--purge-disks", "bios"}).exit_code, 0);

  // The lab's image cache finds the recipes' builds where kvmrun's own cache keeps them.
  std::filesystem::create_directory_symlink(shared_cache_dir() / "guests", lab.cache() / "guests");
  auto up = lab.run({"up", "efi"});
  std::cout << up.out;
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  for (const char* gate : {"agent", "ports", "cloud-init", "provenance"})
    EXPECT_NE(up.out.find(std::string("ok   ") + gate), std::string::npos) << gate;
  EXPECT_EQ(in_guest(lab, "efi", secure_boot_state), "0\n");
  const auto vars = lab.state() / "fw" / "efi" / "efivars.fd";
  const ino_t first = inode_of(vars);
  const auto template_vars = read_file("/usr/share/OVMF/OVMF_VARS_4M.fd");
  ASSERT_TRUE(template_vars.ok());
  EXPECT_NE(*read_file(vars), *template_vars) << "OVMF recorded its boot entries in the copy";

  // A restart keeps the vars file: the same file, with what the firmware wrote into it.
  ASSERT_EQ(lab.run({"down", "efi"}).exit_code, 0);
  up = lab.run({"up", "efi"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("0 file(s) created"), std::string::npos) << up.out;
  EXPECT_EQ(inode_of(vars), first);
  EXPECT_NE(*read_file(vars), *template_vars);
  EXPECT_EQ(in_guest(lab, "efi", secure_boot_state), "0\n");
  ASSERT_EQ(lab.run({"down", "--purge-disks", "efi"}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(vars));

  up = lab.run({"up", "secure"});
  std::cout << up.out;
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("ok   cloud-init"), std::string::npos);
  EXPECT_EQ(in_guest(lab, "secure", secure_boot_state), "1\n");
  EXPECT_NE(in_guest(lab, "secure", "dmesg | grep -i 'secure boot' || true").find("enabled"),
            std::string::npos);
  const auto argv = read_file(lab.state() / "fw" / "secure" / "argv.json");
  ASSERT_TRUE(argv.ok());
  EXPECT_NE(argv->find("OVMF_CODE_4M.ms.fd"), std::string::npos);
  EXPECT_NE(argv->find("smm=on"), std::string::npos);
  ASSERT_EQ(lab.run({"down", "--purge-disks", "secure"}).exit_code, 0);

  up = lab.run({"up", "trixie"});
  std::cout << up.out;
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const auto built = lab.cache() / "guests" / "debian-13";
  EXPECT_NE(up.out.find("debian-13: the local build of images/recipes/debian-13/build (" +
                        built.string() + "), preferred to Debian's official cloud image"),
            std::string::npos)
      << up.out;
  const auto provenance = read_file(lab.state() / "fw" / "trixie" / "provenance.json");
  ASSERT_TRUE(provenance.ok());
  EXPECT_NE(provenance->find("\"base_url\":\"file://" + (built / "debian-13.qcow2").string()),
            std::string::npos)
      << *provenance;
  for (const char* gate : {"agent", "addresses", "ports", "cloud-init", "provenance"})
    EXPECT_NE(up.out.find(std::string("ok   ") + gate), std::string::npos) << gate;
  EXPECT_EQ(in_guest(lab, "trixie", "cut -d. -f1 /etc/debian_version"), "13\n");
  // Its NIC was matched by MAC, not renamed: systemd's predictable name, DHCP on it.
  const auto nics =
      in_guest(lab, "trixie", "ip -o -4 addr show scope global | awk '{print $2, $4}'");
  EXPECT_EQ(nics.rfind("enp", 0), 0U) << nics;
  EXPECT_NE(nics.find(" 10.0.2.15/24"), std::string::npos) << nics;
  EXPECT_EQ(in_guest(lab, "trixie", "grep -c set-name /etc/netplan/*.yaml || true"), "0\n");
  EXPECT_EQ(in_guest(lab, "trixie", secure_boot_state), "0\n");
  const auto status = in_guest(lab, "trixie", "cloud-init status --long");
  EXPECT_NE(status.find("status: done"), std::string::npos) << status;
  auto ssh = lab.run({"ssh", "trixie", "--", "cloud-init", "status"});
  EXPECT_EQ(ssh.exit_code, 0) << ssh.err;
  EXPECT_EQ(ssh.out, "status: done\n");
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);
}

} // namespace
} // namespace kvmrun::testing
