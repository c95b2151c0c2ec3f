// What preflight observes about the host, gathered read-only. Gathering (this file) touches the
// file system, /dev/kvm and runs `qemu-system-x86_64 --version`; judging the facts is pure
// (preflight.hpp), so every verdict can be tested with fabricated facts.
#pragma once

#include "host/kvm_probe.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::host {

struct QemuVersion {
  int major = 0;
  int minor = 0;
  int micro = 0;
  friend auto operator<=>(const QemuVersion&, const QemuVersion&) = default;
};

// Parses "QEMU emulator version 7.2.22 (Debian ...)" from `--version` output.
[[nodiscard]] std::optional<QemuVersion> parse_qemu_version(std::string_view version_output);
[[nodiscard]] std::string to_string(const QemuVersion& version);

struct QemuFacts {
  std::string program;                       // what was looked up
  std::optional<std::filesystem::path> path; // where it was found
  std::string version_line;                  // first line of `--version`
  std::string error;                         // why it could not be run, if it could not
};

struct KvmDeviceFacts {
  std::filesystem::path path;
  bool exists = false;
  bool is_char_device = false;
  int open_errno = 0; // errno of open(O_RDWR); 0 when it opened
  unsigned mode = 0;  // permission bits
  std::string group;  // owning group's name (or its number)
  bool user_in_group = false;

  [[nodiscard]] bool usable() const { return exists && is_char_device && open_errno == 0; }
};

struct UefiPair {
  std::filesystem::path code;
  std::filesystem::path vars; // the template each instance's vars file is copied from
};

struct FirmwareFacts {
  std::optional<std::filesystem::path> bios;
  std::optional<UefiPair> uefi;   // firmware = "uefi"
  std::optional<UefiPair> secure; // firmware = "uefi-secure": Secure Boot code, Microsoft keys
  std::vector<std::filesystem::path> bios_searched;
  std::vector<std::filesystem::path> uefi_searched;   // code images
  std::vector<std::filesystem::path> secure_searched; // code images

  [[nodiscard]] const std::optional<UefiPair>& uefi_pair(bool secure_boot) const {
    return secure_boot ? secure : uefi;
  }
};

struct SpaceFacts {
  std::string role;             // "state", "cache"
  std::filesystem::path dir;    // where kvmrun will write
  std::filesystem::path probed; // the nearest existing ancestor that was measured
  std::uint64_t free_bytes = 0;
  bool writable = false;
  std::string error;
};

struct HostFacts {
  QemuFacts qemu;
  KvmDeviceFacts kvm_device;
  std::vector<std::string> kvm_modules;    // loaded among kvm, kvm_intel, kvm_amd, kvm_pvm
  std::optional<KvmProbeResult> kvm_probe; // absent when the device was not usable
  FirmwareFacts firmware;
  std::vector<SpaceFacts> space;
  // Why this kernel refuses io_uring_setup (ENOSYS: not built in; EPERM: kernel.io_uring_disabled
  // or a seccomp filter, as in many containers); empty when it sets up a ring.
  std::string io_uring_error;
};

// Every path preflight looks at; defaults are the real host's, tests substitute a fake tree.
struct HostPaths {
  std::string qemu_program = "qemu-system-x86_64";
  std::string search_path = "/usr/bin:/bin";
  std::filesystem::path dev_kvm = "/dev/kvm";
  std::filesystem::path sys_module = "/sys/module";
  std::filesystem::path group_file = "/etc/group";
  std::vector<std::filesystem::path> bios = {"/usr/share/seabios/bios-256k.bin",
                                             "/usr/share/qemu/bios-256k.bin"};
  std::vector<UefiPair> uefi = {
      {"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
      {"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
      {"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"},
      {"/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"},
      {"/usr/share/qemu/edk2-x86_64-code.fd", "/usr/share/qemu/edk2-i386-vars.fd"}};
  // Secure Boot: code built with it (and SMM), vars with Microsoft's keys enrolled and it on.
  std::vector<UefiPair> uefi_secure = {
      {"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
      {"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
      {"/usr/share/OVMF/OVMF_CODE.secboot.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd"},
      {"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"},
      {"/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"}};
  std::vector<std::pair<std::string, std::filesystem::path>> space; // role, directory
  std::chrono::milliseconds kvm_probe_timeout{3000};
  std::filesystem::path facts_cache; // host-facts.json (facts_cache.hpp); empty: none
};

[[nodiscard]] HostFacts gather_host_facts(const HostPaths& paths);

// io_uring_setup for a one-entry ring, closed at once: "" when it works, else the reason.
[[nodiscard]] std::string probe_io_uring();

// Only the firmware files (a few stat calls): what provisioning needs, without running QEMU or
// probing KVM.
[[nodiscard]] FirmwareFacts gather_firmware(const HostPaths& paths);

// The name of group `gid` from an /etc/group-format file, or the number as text. Read directly
// so the static binary needs no NSS modules.
[[nodiscard]] std::string group_name(unsigned gid, const std::filesystem::path& group_file);

} // namespace kvmrun::host
