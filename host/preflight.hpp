// Preflight: read-only host checks, each with a verdict, the evidence it saw and a remedy, plus
// the acceleration kvmrun will use. Judging is a pure function of HostFacts.
#pragma once

#include "host/host_facts.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvmrun::host {

// The oldest QEMU kvmrun drives (Ubuntu 22.04 LTS ships 6.2): -blockdev, the QMP snapshot jobs
// and the q35 machine options it uses are all present there.
inline constexpr QemuVersion minimum_qemu{6, 2, 0};

enum class Accel { automatic, kvm, tcg };
[[nodiscard]] std::optional<Accel> parse_accel(std::string_view text);
[[nodiscard]] std::string_view to_string(Accel accel);

enum class Verdict { pass, warn, fail };
[[nodiscard]] std::string_view to_string(Verdict verdict);

struct Check {
  explicit Check(std::string check_name) : name(std::move(check_name)) {}

  std::string name;
  Verdict verdict = Verdict::pass;
  std::string summary;
  std::vector<std::pair<std::string, std::string>> evidence;
  std::string remedy;
};

struct AccelDecision {
  Accel requested = Accel::automatic;
  Accel chosen = Accel::tcg; // kvm or tcg
  bool kvm_usable = false;
  std::string reason; // why this choice; for TCG under auto, why not KVM
};

struct PreflightReport {
  std::vector<Check> checks;
  AccelDecision accel;

  [[nodiscard]] bool ok() const;
  [[nodiscard]] const Check* find(std::string_view name) const;
};

[[nodiscard]] PreflightReport evaluate_preflight(const HostFacts& facts, Accel requested);

} // namespace kvmrun::host
