// Runs a tiny guest through the raw KVM API (create VM, map one page, run a vCPU in real mode
// until it writes a byte to a port and halts) in a forked child with a deadline, so a KVM that
// hangs or crashes cannot hang or crash kvmrun. Passing shows that /dev/kvm really executes
// guest code; it does not show that a stock kernel can boot (see preflight's module check).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace kvmrun::host {

struct KvmProbeResult {
  bool ran_guest = false; // the guest executed and reported the expected byte, then halted
  std::string detail;     // what happened, in words, for evidence and errors
  std::chrono::microseconds elapsed{0};
};

[[nodiscard]] KvmProbeResult probe_kvm_guest(const std::filesystem::path& dev_kvm,
                                             std::chrono::milliseconds timeout);

} // namespace kvmrun::host
