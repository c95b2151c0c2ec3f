// Readiness gates: an instance is ready when every gate passed, never because QEMU started.
// Each gate has its own timeout (the lab's [timeouts]) and fails with what it saw and a remedy.
// gate_table() is the one list of them, in the order they run, for `up`, `check`, the dry run
// and the README's table (a test holds the README to it):
//
//   qemu        QMP answers and the VM runs (a clone: once restored from its template)
//   boot        the kernel speaks on the serial console (under KVM: within the boot watchdog)
//   agent       the guest agent answers guest-ping (a clone: then gets its clock, hostname
//               and on_clone commands)
//   addresses   each NIC (by MAC) has its static address, or a DHCP IPv4 address
//   peers       every other running member of each lab network answers a ping from the guest
//   ports       every forwarded TCP port is served from inside the guest
//   disks       every extra disk is attached (query-block) and mounted where the lab says
//   cloud-init  the seed's readiness marker with this instance-id, and no cloud-init errors
//   provenance  config hash, base digest, seed digest and instance-id recorded (`up`), or the
//               record read back and matched against the lab (`check`)
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "instance/paths.hpp"
#include "instance/provenance.hpp"
#include "lab/lab_spec.hpp"

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::readiness {

struct GateOutcome {
  std::string instance;
  std::string gate;
  bool passed = false;
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds duration{0};
  std::string detail;         // what it saw
  std::optional<Error> error; // why it failed
};

enum class GateMode {
  fresh_boot, // `up`: the guest is booting now; the console is followed live
  recheck,    // `check`: read-only, against the running guest and its serial log
};

// Another member of a lab network the instance is on: whom the peers gate pings.
struct Peer {
  std::string instance;
  std::string network;
  std::string address;
};

// A clone (templates/): restored from its template's saved state by the qemu gate (`up`), or
// running restored (`check`). Its boot and cloud-init happened in the template: the boot gate is
// satisfied by the template's record and the cloud-init gate reads back a clean result.json.
struct CloneOrigin {
  std::string template_name;
  std::string template_instance_id;  // the instance-id its cloud-init ran with
  std::string hostname;              // the clone's own, set through the agent
  std::vector<std::string> on_clone; // run through the agent before the other gates
};

struct GateTarget {
  std::string lab;
  lab::InstanceSpec instance;
  instance::InstancePaths paths;
  bool kvm = false;
  std::chrono::milliseconds kvm_watchdog{60'000};
  // What the instance must be: its instance-id for the cloud-init gate; the whole record is
  // written by `up`'s provenance gate and compared by `check`'s.
  instance::Provenance provenance;
  std::vector<Peer> peers; // the members running now (or starting with it)
  // Where this boot's output starts in the serial log (earlier boots' output comes first).
  std::uint64_t serial_from = 0;
  std::optional<CloneOrigin> clone;
};

class GateRun; // one run of the gates against one instance (gates.cpp)

struct Gate {
  std::string_view name;
  std::string_view timeout_key;                      // the [timeouts] key that bounds it
  std::chrono::milliseconds lab::Timeouts::*timeout; // ... and where the lab keeps its value
  Result<std::string> (*step)(GateRun& run, Deadline deadline);
};

// Every gate, in the order they run.
[[nodiscard]] std::span<const Gate> gate_table();
// Their names, in that order.
[[nodiscard]] std::vector<std::string> gate_names();
// The timeout `timeouts` gives the gate named `gate` (0 for a name that is not a gate).
[[nodiscard]] std::chrono::milliseconds gate_timeout(std::string_view gate,
                                                     const lab::Timeouts& timeouts);
// The longest every gate may take together: the sum of their timeouts.
[[nodiscard]] std::chrono::milliseconds gates_bound(const lab::Timeouts& timeouts);

using GateObserver = std::function<void(const GateOutcome&)>;

// Runs the gates in order, reporting each to `observe`; stops at the first failure and returns
// its error. On its own event loop: call it from one thread per instance.
// `starting` (optional) hears each gate's name as it begins.
[[nodiscard]] Status run_gates(const GateTarget& target, GateMode mode, const GateObserver& observe,
                               const std::function<void(std::string_view gate)>& starting = {});

// The kernel's first line on the serial console.
inline constexpr std::string_view kernel_banner = "Linux version ";

} // namespace kvmrun::readiness
