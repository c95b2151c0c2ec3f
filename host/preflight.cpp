#include "host/preflight.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace kvmrun::host {

std::optional<Accel> parse_accel(std::string_view text) {
  if (text == "auto")
    return Accel::automatic;
  if (text == "kvm")
    return Accel::kvm;
  if (text == "tcg")
    return Accel::tcg;
  return std::nullopt;
}

std::string_view to_string(Accel accel) {
  switch (accel) {
  case Accel::automatic: return "auto";
  case Accel::kvm: return "kvm";
  case Accel::tcg: return "tcg";
  }
  return "auto";
}

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
  case Verdict::pass: return "pass";
  case Verdict::warn: return "warn";
  case Verdict::fail: return "fail";
  }
  return "fail";
}

bool PreflightReport::ok() const {
  return std::none_of(checks.begin(), checks.end(),
                      [](const Check& c) { return c.verdict == Verdict::fail; });
}

const Check* PreflightReport::find(std::string_view name) const {
  const auto it =
      std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.name == name; });
  return it == checks.end() ? nullptr : &*it;
}

namespace {

constexpr std::uint64_t gib = 1024ULL * 1024 * 1024;
constexpr std::uint64_t space_fail_below = 1 * gib;
constexpr std::uint64_t space_warn_below = 10 * gib;

std::string human_bytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB",
                static_cast<double>(bytes) / static_cast<double>(gib));
  return text;
}

std::string octal_mode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode);
  return text;
}

bool has(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

std::string join_or(const std::vector<std::string>& list, std::string_view none) {
  if (list.empty())
    return std::string(none);
  std::string text;
  for (const auto& item : list)
    text += (text.empty() ? "" : ", ") + item;
  return text;
}

Check check_qemu(const QemuFacts& qemu) {
  Check c("qemu");
  c.evidence.emplace_back("program", qemu.program);
  if (!qemu.path) {
    c.verdict = Verdict::fail;
    c.summary = "'" + qemu.program + "' was not found on PATH";
    c.remedy = "install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86) or set KVMRUN_QEMU "
               "to its path";
    return c;
  }
  c.evidence.emplace_back("path", qemu.path->string());
  if (!qemu.error.empty()) {
    c.verdict = Verdict::fail;
    c.summary = "QEMU at " + qemu.path->string() + " does not run: " + qemu.error;
    c.remedy = "reinstall QEMU or point KVMRUN_QEMU at a working qemu-system-x86_64";
    return c;
  }
  c.evidence.emplace_back("version_output", qemu.version_line);
  const auto version = parse_qemu_version(qemu.version_line);
  c.evidence.emplace_back("minimum", to_string(minimum_qemu));
  if (!version) {
    c.verdict = Verdict::fail;
    c.summary = "cannot read QEMU's version from '" + qemu.version_line + "'";
    c.remedy = "point KVMRUN_QEMU at a qemu-system-x86_64 binary";
    return c;
  }
  c.evidence.emplace_back("version", to_string(*version));
  if (*version < minimum_qemu) {
    c.verdict = Verdict::fail;
    c.summary =
        "QEMU " + to_string(*version) + " is older than the minimum " + to_string(minimum_qemu);
    c.remedy = "install QEMU " + to_string(minimum_qemu) + " or newer";
    return c;
  }
  c.summary = "QEMU " + to_string(*version) + " at " + qemu.path->string();
  return c;
}

// KVM problems fail preflight only when KVM was asked for; otherwise TCG takes over.
Verdict kvm_problem(Accel requested) {
  return requested == Accel::kvm ? Verdict::fail : Verdict::warn;
}

Check check_kvm_device(const KvmDeviceFacts& dev, Accel requested) {
  Check c("kvm-device");
  const std::string path = dev.path.string();
  c.evidence.emplace_back("path", path);
  if (!dev.exists) {
    c.verdict = kvm_problem(requested);
    c.summary = path + " does not exist";
    c.remedy = "enable virtualization in the firmware and load kvm_intel or kvm_amd; in a "
               "container, pass the device in (docker run --device /dev/kvm)";
    return c;
  }
  c.evidence.emplace_back("mode", octal_mode(dev.mode));
  c.evidence.emplace_back("group", dev.group);
  if (!dev.is_char_device) {
    c.verdict = kvm_problem(requested);
    c.summary = path + " is not a character device";
    c.remedy = "remove the stray file and load the kvm module";
    return c;
  }
  if (dev.open_errno == EACCES || dev.open_errno == EPERM) {
    c.verdict = kvm_problem(requested);
    c.evidence.emplace_back("in_group", dev.user_in_group ? "yes" : "no");
    c.summary = "permission denied opening " + path + " (mode " + octal_mode(dev.mode) +
                ", group '" + dev.group + "')";
    c.remedy = dev.user_in_group ? "the group '" + dev.group +
                                       "' lacks read-write access; fix the device mode "
                                       "(a udev rule giving it 0660)"
                                 : "add your user to the group '" + dev.group + "' (usermod -aG " +
                                       dev.group + " $USER) and log in again";
    return c;
  }
  if (dev.open_errno != 0) {
    c.verdict = kvm_problem(requested);
    c.summary = "cannot open " + path + ": " + std::strerror(dev.open_errno);
    c.remedy = "check that the kvm module is loaded (lsmod | grep kvm)";
    return c;
  }
  c.summary = path + " opens read-write";
  return c;
}

// Whether KVM can boot a standard guest, and if not, why. Empty reason means usable.
std::string kvm_unusable_reason(const HostFacts& facts) {
  if (!facts.kvm_device.usable())
    return "/dev/kvm is not usable (see kvm-device)";
  if (facts.kvm_probe && !facts.kvm_probe->ran_guest)
    return "KVM cannot run a test guest: " + facts.kvm_probe->detail;
  const auto& mods = facts.kvm_modules;
  if (has(mods, "kvm_pvm") && !has(mods, "kvm_intel") && !has(mods, "kvm_amd"))
    return "KVM here is the PVM nested hypervisor (kvm_pvm, no kvm_intel or kvm_amd); it runs "
           "only PVM-aware guest kernels, and a stock Linux guest hangs right after the firmware";
  return {};
}

Check check_kvm_guest(const HostFacts& facts, Accel requested, const std::string& unusable) {
  Check c("kvm-guest");
  c.evidence.emplace_back("modules", join_or(facts.kvm_modules, "none"));
  if (facts.kvm_probe) {
    c.evidence.emplace_back("probe", facts.kvm_probe->detail);
    c.evidence.emplace_back("probe_us", std::to_string(facts.kvm_probe->elapsed.count()));
  }
  if (unusable.empty()) {
    c.summary = "KVM runs guests (" + join_or(facts.kvm_modules, "no module named") + ")";
    return c;
  }
  c.verdict = kvm_problem(requested);
  c.summary = unusable;
  c.remedy = facts.kvm_device.usable()
                 ? "use --accel tcg (auto chooses it), or run on a host whose KVM uses "
                   "VT-x/AMD-V (kvm_intel or kvm_amd)"
                 : "fix /dev/kvm (see kvm-device) or use --accel tcg";
  return c;
}

Check check_bios(const FirmwareFacts& fw) {
  Check c("firmware-bios");
  if (fw.bios) {
    c.summary = "SeaBIOS at " + fw.bios->string();
    c.evidence.emplace_back("path", fw.bios->string());
    return c;
  }
  std::vector<std::string> searched;
  for (const auto& p : fw.bios_searched)
    searched.push_back(p.string());
  c.evidence.emplace_back("searched", join_or(searched, "nothing"));
  c.verdict = Verdict::fail;
  c.summary = "no SeaBIOS image (bios-256k.bin) found; every guest boots through it";
  c.remedy = "install SeaBIOS (Debian/Ubuntu: apt-get install seabios)";
  return c;
}

// One UEFI mode: the OVMF code and vars template it uses, or what was looked for.
Check check_uefi(const FirmwareFacts& fw, bool secure_boot) {
  Check c(secure_boot ? "firmware-uefi-secure" : "firmware-uefi");
  const auto& pair = fw.uefi_pair(secure_boot);
  const std::string mode = secure_boot ? "uefi-secure" : "uefi";
  if (pair) {
    c.summary = std::string(secure_boot ? "Secure Boot OVMF" : "OVMF") + " at " +
                pair->code.string() + " (firmware = \"" + mode + "\")";
    c.evidence.emplace_back("code", pair->code.string());
    c.evidence.emplace_back("vars_template", pair->vars.string());
    return c;
  }
  std::vector<std::string> searched;
  for (const auto& p : secure_boot ? fw.secure_searched : fw.uefi_searched)
    searched.push_back(p.string());
  c.evidence.emplace_back("searched", join_or(searched, "nothing"));
  c.verdict = Verdict::warn;
  c.summary = std::string("no ") + (secure_boot ? "Secure Boot " : "") +
              "OVMF code and vars pair found; images with firmware = \"" + mode + "\" cannot boot";
  c.remedy = "install OVMF (Debian/Ubuntu: apt-get install ovmf)";
  return c;
}

Check check_io_uring(const std::string& error) {
  Check c("io-uring");
  if (error.empty()) {
    c.summary = "the kernel sets up io_uring rings (disks with aio = \"io_uring\" can start)";
    return c;
  }
  c.evidence.emplace_back("probe", error);
  c.verdict = Verdict::warn;
  c.summary = "the kernel refuses io_uring (" + error +
              "); disks with aio = \"io_uring\" cannot start here";
  c.remedy = "use aio = \"threads\", or \"native\" with cache = \"none\"; or allow io_uring "
             "(sysctl kernel.io_uring_disabled=0, or the container's seccomp profile)";
  return c;
}

Check check_space(const SpaceFacts& s) {
  Check c("space-" + s.role);
  c.evidence.emplace_back("dir", s.dir.string());
  c.evidence.emplace_back("measured_at", s.probed.string());
  const std::string variable = s.role == "cache" ? "KVMRUN_CACHE_DIR" : "KVMRUN_STATE_DIR";
  if (!s.error.empty()) {
    c.verdict = Verdict::fail;
    c.summary = "cannot measure free space at " + s.probed.string() + ": " + s.error;
    c.remedy = "set " + variable + " to another directory";
    return c;
  }
  c.evidence.emplace_back("free_bytes", std::to_string(s.free_bytes));
  c.evidence.emplace_back("writable", s.writable ? "yes" : "no");
  if (!s.writable) {
    c.verdict = Verdict::fail;
    c.summary = s.probed.string() + " is not writable, so " + s.dir.string() + " cannot be made";
    c.remedy = "fix its permissions or set " + variable + " to a writable directory";
    return c;
  }
  c.summary = human_bytes(s.free_bytes) + " free for " + s.dir.string();
  if (s.free_bytes < space_fail_below) {
    c.verdict = Verdict::fail;
    c.remedy = "free at least " + human_bytes(space_fail_below) + " there or set " + variable;
  } else if (s.free_bytes < space_warn_below) {
    c.verdict = Verdict::warn;
    c.remedy = "cloud images and overlays want " + human_bytes(space_warn_below) +
               " or more; free space or set " + variable;
  }
  return c;
}

AccelDecision decide_accel(Accel requested, const std::string& kvm_unusable) {
  AccelDecision d;
  d.requested = requested;
  d.kvm_usable = kvm_unusable.empty();
  switch (requested) {
  case Accel::tcg:
    d.chosen = Accel::tcg;
    d.reason = "TCG was requested";
    break;
  case Accel::kvm:
    d.chosen = Accel::kvm;
    d.reason = d.kvm_usable ? "KVM was requested and works" : kvm_unusable;
    break;
  case Accel::automatic:
    d.chosen = d.kvm_usable ? Accel::kvm : Accel::tcg;
    d.reason = d.kvm_usable ? "KVM works" : kvm_unusable;
    break;
  }
  return d;
}

Check check_accel(const AccelDecision& d) {
  Check c("accel");
  c.evidence.emplace_back("requested", std::string(to_string(d.requested)));
  c.evidence.emplace_back("chosen", std::string(to_string(d.chosen)));
  if (d.requested == Accel::kvm && !d.kvm_usable) {
    c.verdict = Verdict::fail;
    c.summary = "KVM was requested but cannot boot guests here: " + d.reason;
    c.remedy = "use --accel auto or --accel tcg";
  } else if (d.requested == Accel::automatic && !d.kvm_usable) {
    c.verdict = Verdict::warn;
    c.summary = "TCG software emulation (guests run several times slower): " + d.reason;
    c.remedy = "for KVM speed, run on a host with working VT-x/AMD-V KVM";
  } else {
    c.summary = std::string(to_string(d.chosen)) + " (" + d.reason + ")";
  }
  return c;
}

} // namespace

PreflightReport evaluate_preflight(const HostFacts& facts, Accel requested) {
  PreflightReport report;
  const std::string unusable = kvm_unusable_reason(facts);
  report.accel = decide_accel(requested, unusable);
  report.checks.push_back(check_qemu(facts.qemu));
  report.checks.push_back(check_kvm_device(facts.kvm_device, requested));
  report.checks.push_back(check_kvm_guest(facts, requested, unusable));
  report.checks.push_back(check_bios(facts.firmware));
  report.checks.push_back(check_uefi(facts.firmware, false));
  report.checks.push_back(check_uefi(facts.firmware, true));
  report.checks.push_back(check_io_uring(facts.io_uring_error));
  for (const auto& s : facts.space)
    report.checks.push_back(check_space(s));
  report.checks.push_back(check_accel(report.accel));
  return report;
}

} // namespace kvmrun::host
