// A lab's networks as the lifecycle commands see them: which networks a set of instances needs,
// starting their switches (`up`), stopping the switches nobody uses any more (`down`), and what
// `status` shows of them.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "cli/lab_context.hpp"
#include "instance/qemu_user.hpp"
#include "network/switch.hpp"
#include "readiness/gates.hpp"

#include <functional>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kvmrun::cli {

// The lab's networks that any of `instances` is attached to, in the lab's order (bridged ones
// included).
[[nodiscard]] std::vector<const lab::SegmentSpec*>
networks_of(const LabContext& ctx, const std::vector<const lab::InstanceSpec*>& instances);

// The names of the lab's networks on a host bridge (root mode: taps, no switch).
[[nodiscard]] std::vector<std::string> bridged_networks(const lab::LabSpec& lab);

// Root mode: a tap device on its bridge for each of `inst`'s attachments to a bridged network,
// each paired with the descriptor number QEMU's argv gives it (instance::tap_fd + index).
[[nodiscard]] Result<std::vector<std::pair<int, UniqueFd>>>
open_taps(const LabContext& ctx, const lab::InstanceSpec& inst);

// Starts the network's switch (or finds it running); its members are every instance of the lab
// attached to it. Its log: <state>/<lab>/networks/<network>.log. With `run_as` (root's kvmrun)
// the switch runs as QEMU's user, as its members do.
[[nodiscard]] Result<pid_t> start_network(const LabContext& ctx, const lab::SegmentSpec& net,
                                          const std::filesystem::path& self, bool attached,
                                          const std::optional<instance::RunAs>& run_as);

// Stops the switch of each network none of whose members runs; one line per switch to `out`
// ("network app: switch stopped"; with `dry`, what would be done).
[[nodiscard]] Status stop_unused_networks(const LabContext& ctx, bool dry, std::ostream& out);

// The other members of each network `inst` is on for which `counts` holds: whom its peers gate
// pings, in the order of its attachments.
[[nodiscard]] std::vector<readiness::Peer>
peers_of(const LabContext& ctx, const lab::InstanceSpec& inst,
         const std::function<bool(const lab::InstanceSpec&)>& counts);

struct NetworkStatus {
  const lab::SegmentSpec* network = nullptr;
  network::SwitchState state;
};
[[nodiscard]] std::vector<NetworkStatus> network_status(const LabContext& ctx);

} // namespace kvmrun::cli
