#include "cli/views.hpp"
#include "host/preflight.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cerrno>

namespace kvmrun::host {
namespace {

constexpr std::uint64_t gib = 1024ULL * 1024 * 1024;

// A host where everything works: QEMU 7.2, Intel KVM that ran the probe guest, both firmwares.
HostFacts healthy_host() {
  HostFacts f;
  f.qemu.program = "qemu-system-x86_64";
  f.qemu.path = "/usr/bin/qemu-system-x86_64";
  f.qemu.version_line = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)";
  f.kvm_device.path = "/dev/kvm";
  f.kvm_device.exists = true;
  f.kvm_device.is_char_device = true;
  f.kvm_device.mode = 0660;
  f.kvm_device.group = "kvm";
  f.kvm_device.user_in_group = true;
  f.kvm_modules = {"kvm", "kvm_intel"};
  f.kvm_probe = KvmProbeResult{true, "a test guest ran", std::chrono::microseconds(900)};
  f.firmware.bios = "/usr/share/seabios/bios-256k.bin";
  f.firmware.uefi = UefiPair{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"};
  f.firmware.secure =
      UefiPair{"/usr/share/OVMF/OVMF_CODE_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"};
  f.space.push_back(
      SpaceFacts{"state", "/home/a/.local/state/kvmrun", "/home/a", 50 * gib, true, ""});
  f.space.push_back(SpaceFacts{"cache", "/home/a/.cache/kvmrun", "/home/a", 50 * gib, true, ""});
  return f;
}

HostFacts pvm_host() {
  HostFacts f = healthy_host();
  f.kvm_modules = {"kvm", "kvm_pvm"};
  return f;
}

Verdict verdict_of(const PreflightReport& r, std::string_view name) {
  const Check* c = r.find(name);
  EXPECT_NE(c, nullptr) << name;
  return c == nullptr ? Verdict::fail : c->verdict;
}

TEST(Preflight, AHealthyKvmHostPassesEveryCheckAndChoosesKvm) {
  const auto r = evaluate_preflight(healthy_host(), Accel::automatic);
  for (const auto& c : r.checks)
    EXPECT_EQ(c.verdict, Verdict::pass) << c.name << ": " << c.summary;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.accel.chosen, Accel::kvm);
  EXPECT_TRUE(r.accel.kvm_usable);
}

TEST(Preflight, APvmHostIsReportedUnusableForStandardGuestsAndAutoChoosesTcg) {
  const auto r = evaluate_preflight(pvm_host(), Accel::automatic);
  EXPECT_TRUE(r.ok()); // TCG still runs the lab
  EXPECT_EQ(r.accel.chosen, Accel::tcg);
  EXPECT_FALSE(r.accel.kvm_usable);
  EXPECT_NE(r.accel.reason.find("kvm_pvm"), std::string::npos);
  EXPECT_EQ(verdict_of(r, "kvm-guest"), Verdict::warn);
  EXPECT_EQ(verdict_of(r, "accel"), Verdict::warn);
  EXPECT_NE(r.find("kvm-guest")->summary.find("hangs right after the firmware"), std::string::npos);
}

TEST(Preflight, RequestingKvmOnAPvmHostFailsWithTheReasonAndARemedy) {
  const auto r = evaluate_preflight(pvm_host(), Accel::kvm);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(verdict_of(r, "kvm-guest"), Verdict::fail);
  EXPECT_EQ(verdict_of(r, "accel"), Verdict::fail);
  EXPECT_NE(r.find("accel")->remedy.find("--accel"), std::string::npos);
}

TEST(Preflight, AHostWithBothPvmAndHardwareKvmUsesKvm) {
  HostFacts f = healthy_host();
  f.kvm_modules = {"kvm", "kvm_amd", "kvm_pvm"};
  EXPECT_EQ(evaluate_preflight(f, Accel::automatic).accel.chosen, Accel::kvm);
}

TEST(Preflight, RequestingTcgNeverDependsOnKvm) {
  HostFacts f = pvm_host();
  f.kvm_device.exists = false;
  f.kvm_probe.reset();
  const auto r = evaluate_preflight(f, Accel::tcg);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.accel.chosen, Accel::tcg);
  EXPECT_EQ(verdict_of(r, "accel"), Verdict::pass);
}

TEST(Preflight, AProbeGuestThatDidNotRunMakesKvmUnusableWithTheProbesWords) {
  HostFacts f = healthy_host();
  f.kvm_probe = KvmProbeResult{false, "the test guest did not halt within 3000 ms", {}};
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(r.accel.chosen, Accel::tcg);
  EXPECT_NE(r.accel.reason.find("did not halt"), std::string::npos);
}

TEST(Preflight, AMissingKvmDeviceSaysHowToGetOne) {
  HostFacts f = healthy_host();
  f.kvm_device.exists = false;
  f.kvm_probe.reset();
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "kvm-device"), Verdict::warn);
  EXPECT_NE(r.find("kvm-device")->remedy.find("--device /dev/kvm"), std::string::npos);
  EXPECT_EQ(r.accel.chosen, Accel::tcg);
}

TEST(Preflight, PermissionDeniedOnKvmNamesTheOwningGroup) {
  HostFacts f = healthy_host();
  f.kvm_device.open_errno = EACCES;
  f.kvm_device.user_in_group = false;
  f.kvm_probe.reset();
  const auto r = evaluate_preflight(f, Accel::kvm);
  const Check* c = r.find("kvm-device");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->verdict, Verdict::fail);
  EXPECT_NE(c->summary.find("group 'kvm'"), std::string::npos);
  EXPECT_NE(c->remedy.find("usermod -aG kvm"), std::string::npos);
  EXPECT_FALSE(r.ok());
}

TEST(Preflight, MissingQemuFailsWithAnInstallHint) {
  HostFacts f = healthy_host();
  f.qemu.path.reset();
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.find("qemu")->remedy.find("qemu-system-x86"), std::string::npos);
}

TEST(Preflight, QemuOlderThanTheMinimumFails) {
  HostFacts f = healthy_host();
  f.qemu.version_line = "QEMU emulator version 6.1.1";
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "qemu"), Verdict::fail);
  EXPECT_NE(r.find("qemu")->summary.find("older than the minimum 6.2.0"), std::string::npos);
  f.qemu.version_line = "QEMU emulator version 6.2.0";
  EXPECT_EQ(verdict_of(evaluate_preflight(f, Accel::automatic), "qemu"), Verdict::pass);
}

TEST(Preflight, QemuThatCannotRunOrPrintsNoVersionFails) {
  HostFacts f = healthy_host();
  f.qemu.error = "'qemu --version' failed (exit 1): libfoo.so missing";
  EXPECT_EQ(verdict_of(evaluate_preflight(f, Accel::automatic), "qemu"), Verdict::fail);
  f.qemu.error.clear();
  f.qemu.version_line = "something else";
  EXPECT_EQ(verdict_of(evaluate_preflight(f, Accel::automatic), "qemu"), Verdict::fail);
}

TEST(Preflight, AKernelThatRefusesIoUringOnlyWarnsNamingWhy) {
  HostFacts f = healthy_host();
  EXPECT_EQ(verdict_of(evaluate_preflight(f, Accel::automatic), "io-uring"), Verdict::pass);
  f.io_uring_error = "io_uring_setup: Operation not permitted";
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_TRUE(r.ok());
  const Check* c = r.find("io-uring");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->verdict, Verdict::warn);
  EXPECT_NE(c->summary.find("(io_uring_setup: Operation not permitted)"), std::string::npos);
  EXPECT_NE(c->remedy.find("aio = \"threads\""), std::string::npos);
}

TEST(Preflight, MissingSeabiosFailsButMissingOvmfOnlyWarns) {
  HostFacts f = healthy_host();
  auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "firmware-uefi-secure"), Verdict::pass);
  f.firmware.uefi.reset();
  f.firmware.secure.reset();
  f.firmware.secure_searched = {"/usr/share/OVMF/OVMF_CODE_4M.ms.fd"};
  r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "firmware-uefi"), Verdict::warn);
  EXPECT_EQ(verdict_of(r, "firmware-uefi-secure"), Verdict::warn);
  const Check* secure = r.find("firmware-uefi-secure");
  ASSERT_NE(secure, nullptr);
  EXPECT_EQ(secure->summary, "no Secure Boot OVMF code and vars pair found; images with firmware "
                             "= \"uefi-secure\" cannot boot");
  ASSERT_EQ(secure->evidence.size(), 1U);
  EXPECT_EQ(secure->evidence[0].second, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
  EXPECT_EQ(secure->remedy, "install OVMF (Debian/Ubuntu: apt-get install ovmf)");
  EXPECT_TRUE(r.ok());
  f.firmware.bios.reset();
  r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "firmware-bios"), Verdict::fail);
  EXPECT_FALSE(r.ok());
}

TEST(Preflight, FreeSpaceBelowOneGibFailsAndBelowTenWarns) {
  HostFacts f = healthy_host();
  f.space[0].free_bytes = 5 * gib;
  f.space[1].free_bytes = gib / 2;
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "space-state"), Verdict::warn);
  EXPECT_EQ(verdict_of(r, "space-cache"), Verdict::fail);
  EXPECT_NE(r.find("space-cache")->remedy.find("KVMRUN_CACHE_DIR"), std::string::npos);
}

TEST(Preflight, AnUnwritableDirectoryFails) {
  HostFacts f = healthy_host();
  f.space[0].writable = false;
  const auto r = evaluate_preflight(f, Accel::automatic);
  EXPECT_EQ(verdict_of(r, "space-state"), Verdict::fail);
  EXPECT_NE(r.find("space-state")->remedy.find("KVMRUN_STATE_DIR"), std::string::npos);
}

TEST(PreflightJson, IsValidJsonWithEveryCheckAndTheAccelDecision) {
  const auto r = evaluate_preflight(pvm_host(), Accel::automatic);
  const auto doc = boost::json::parse(cli::render_json(r)).as_object();
  EXPECT_TRUE(doc.at("ok").as_bool());
  EXPECT_EQ(doc.at("accel").at("chosen").as_string(), "tcg");
  EXPECT_EQ(doc.at("accel").at("requested").as_string(), "auto");
  EXPECT_EQ(doc.at("checks").as_array().size(), r.checks.size());
  for (const auto& c : doc.at("checks").as_array()) {
    EXPECT_TRUE(c.as_object().contains("name"));
    EXPECT_TRUE(c.as_object().contains("verdict"));
    EXPECT_TRUE(c.as_object().contains("evidence"));
  }
}

TEST(PreflightText, ShowsEachVerdictTheRemedyOfProblemsAndTheOutcome) {
  const std::string text = cli::render_text(evaluate_preflight(pvm_host(), Accel::kvm));
  EXPECT_NE(text.find("fail  kvm-guest"), std::string::npos);
  EXPECT_NE(text.find("remedy: "), std::string::npos);
  EXPECT_NE(text.find("preflight: FAILED"), std::string::npos);
}

TEST(ParseAccel, AcceptsExactlyAutoKvmAndTcg) {
  EXPECT_EQ(parse_accel("auto"), Accel::automatic);
  EXPECT_EQ(parse_accel("kvm"), Accel::kvm);
  EXPECT_EQ(parse_accel("tcg"), Accel::tcg);
  EXPECT_FALSE(parse_accel("KVM").has_value());
  EXPECT_FALSE(parse_accel("").has_value());
}

} // namespace
} // namespace kvmrun::host
