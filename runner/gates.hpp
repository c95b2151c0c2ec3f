// Readiness gates: an instance is ready when every gate passed, never because QEMU started.
// Each gate has its own timeout (lab [timeouts]) and fails with what it saw and a remedy.
//
//   qemu        QMP answers and the VM runs
//   boot        the kernel speaks on the serial console (under KVM: within the boot watchdog)
//   agent       the guest agent answers guest-ping
//   addresses   the guest's NIC (by MAC) has its static address, or a DHCP IPv4 address
//   ports       every forwarded TCP port is served from inside the guest
//   disks       every extra disk is attached (query-block) and mounted where the lab says
//   cloud-init  the seed's readiness marker with this instance-id, and no cloud-init errors
//   provenance  config hash, base digest, seed digest and instance-id recorded
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "lab/lab_spec.hpp"
#include "runner/instance_paths.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace kvmrun::runner {

struct GateOutcome {
  std::string instance;
  std::string gate;
  bool passed = false;
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds duration{0};
  std::string detail;         // what it saw
  std::optional<Error> error; // why it failed
};

struct Provenance {
  std::string config_hash;
  std::string base_digest; // "sha512:..."
  std::string seed_sha256;
  std::string instance_id;
  std::vector<std::string> argv;
};

enum class GateMode {
  fresh_boot, // `up`: the guest is booting now; the console is followed live
  recheck,    // `check`: read-only, against the running guest and its serial log
};

struct GateTarget {
  std::string lab;
  lab::InstanceSpec instance;
  InstancePaths paths;
  bool kvm = false;
  std::chrono::milliseconds kvm_watchdog{60'000};
  Provenance provenance; // expected instance-id; recorded by the last gate on `up`
};

using GateObserver = std::function<void(const GateOutcome&)>;

// Runs the gates in order, reporting each to `observe`; stops at the first failure and returns
// its error. On its own event loop: call it from one thread per instance.
[[nodiscard]] Status run_gates(const GateTarget& target, GateMode mode,
                               const GateObserver& observe);

// The names, in order (for reports and tests).
[[nodiscard]] const std::vector<std::string>& gate_names();

// Whether a TCP port on 127.0.0.1 answers from inside the guest: user networking accepts the
// host side itself and closes it at once when nothing listens in the guest, so a connection
// counts only if it delivers data or stays open for `settle`.
[[nodiscard]] bool port_serves(EventLoop& loop, const std::string& address, std::uint16_t port,
                               std::chrono::milliseconds settle, Deadline deadline);

// The kernel's first line on the serial console.
inline constexpr std::string_view kernel_banner = "Linux version ";

} // namespace kvmrun::runner
