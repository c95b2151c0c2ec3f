#include "cli/lab_networks.hpp"

#include "base/file_io.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "network/tap.hpp"

#include <algorithm>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;

bool attached_to(const lab::InstanceSpec& i, const std::string& network) {
  return std::any_of(i.attachments.begin(), i.attachments.end(),
                     [&](const lab::Attachment& a) { return a.network == network; });
}

std::filesystem::path lab_runtime(const LabContext& ctx) { return ctx.dirs.runtime / ctx.lab.name; }

} // namespace

std::vector<const lab::SegmentSpec*>
networks_of(const LabContext& ctx, const std::vector<const lab::InstanceSpec*>& instances) {
  std::vector<const lab::SegmentSpec*> used;
  for (const auto& net : ctx.lab.networks)
    if (std::any_of(instances.begin(), instances.end(),
                    [&](const lab::InstanceSpec* i) { return attached_to(*i, net.name); }))
      used.push_back(&net);
  return used;
}

std::vector<std::string> bridged_networks(const lab::LabSpec& lab) {
  std::vector<std::string> names;
  for (const auto& net : lab.networks)
    if (!net.bridge.empty())
      names.push_back(net.name);
  return names;
}

Result<std::vector<std::pair<int, UniqueFd>>> open_taps(const LabContext& ctx,
                                                        const lab::InstanceSpec& inst) {
  std::vector<std::pair<int, UniqueFd>> taps;
  for (std::size_t i = 0; i < inst.attachments.size(); ++i) {
    const auto* net = ctx.lab.find_network(inst.attachments[i].network);
    if (net == nullptr || net->bridge.empty())
      continue;
    auto tap = network::open_tap_on_bridge(network::tap_name(ctx.lab.name, inst.name, net->name),
                                           net->bridge);
    if (!tap)
      return std::move(tap).error().add_context("attaching " + inst.name + " to network " +
                                                net->name + " (bridge " + net->bridge + ")");
    taps.emplace_back(instance::tap_fd + static_cast<int>(i), std::move(tap).value());
  }
  return taps;
}

Result<pid_t> start_network(const LabContext& ctx, const lab::SegmentSpec& net,
                            const std::filesystem::path& self, bool attached,
                            const std::optional<instance::RunAs>& run_as) {
  if (self.empty())
    return Error(ErrorCode::internal, "kvmrun does not know where its own binary is",
                 "run kvmrun by its path; /proc/self/exe was unreadable");
  network::SwitchSpec spec{lab_runtime(ctx), net.name, {}};
  for (const auto& i : ctx.lab.instances)
    if (attached_to(i, net.name))
      spec.members.push_back(i.name);
  const auto log = ctx.lab_state() / "networks" / (net.name + ".log");
  std::optional<Credentials> ids;
  if (run_as) {
    const auto dir = network::switch_paths(spec.lab_runtime, net.name).dir;
    if (auto made = create_private_dirs(dir); !made)
      return std::move(made).error();
    if (auto given = instance::hand_over(*run_as, {{dir}, {self}}, ctx.dirs); !given)
      return std::move(given).error().add_context("starting the switch of network " + net.name);
    ids = run_as->ids;
  }
  return network::start_switch(self, spec, log, attached, ids, deadline_after(10s));
}

Status stop_unused_networks(const LabContext& ctx, bool dry, std::ostream& out) {
  Status first;
  for (const auto& net : ctx.lab.networks) {
    if (!net.bridge.empty())
      continue; // a host bridge: nothing of kvmrun's to stop
    const auto state = network::probe_switch(lab_runtime(ctx), net.name);
    if (state.state == network::SwitchState::State::stopped)
      continue;
    const bool in_use = std::any_of(
        ctx.lab.instances.begin(), ctx.lab.instances.end(), [&](const lab::InstanceSpec& i) {
          return attached_to(i, net.name) &&
                 instance::probe_instance(ctx.paths(i), ctx.lab.name, i.name).state !=
                     instance::Liveness::State::stopped;
        });
    if (in_use)
      continue;
    if (dry) {
      out << "network " << net.name << ": would stop its switch"
          << (state.pid ? " (pid " + std::to_string(*state.pid) + ")" : std::string()) << "\n";
      continue;
    }
    if (auto stopped = network::stop_switch(lab_runtime(ctx), net.name, 5s); !stopped) {
      if (first)
        first = std::move(stopped);
      continue;
    }
    out << "network " << net.name << ": switch stopped\n";
  }
  return first;
}

std::vector<readiness::Peer> peers_of(const LabContext& ctx, const lab::InstanceSpec& inst,
                                      const std::function<bool(const lab::InstanceSpec&)>& counts) {
  std::vector<readiness::Peer> peers;
  for (const auto& mine : inst.attachments)
    for (const auto& member : ctx.lab.instances) {
      if (member.name == inst.name || !counts(member))
        continue;
      for (const auto& theirs : member.attachments)
        if (theirs.network == mine.network)
          peers.push_back({member.name, mine.network, theirs.address});
    }
  return peers;
}

std::vector<NetworkStatus> network_status(const LabContext& ctx) {
  std::vector<NetworkStatus> all;
  for (const auto& net : ctx.lab.networks)
    all.push_back({&net, network::probe_switch(lab_runtime(ctx), net.name)});
  return all;
}

} // namespace kvmrun::cli
