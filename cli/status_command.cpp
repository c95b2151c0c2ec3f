// `kvmrun status [INSTANCE...] [--json]`: state, pid, uptime, ports and provenance of the lab's
// instances, found through their locks and QMP sockets (so it works after kvmrun itself was
// restarted). A damaged provenance record is reported (exit 10); the rest is still shown.
#include "base/lock_file.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/lab_networks.hpp"
#include "instance/provenance.hpp"
#include "instance/qemu_process.hpp"
#include "instance/runtime_forwards.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"

#include <boost/json.hpp>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

struct InstanceStatus {
  std::string name;
  std::string state;
  std::optional<pid_t> pid;
  std::optional<std::int64_t> uptime_s;
  std::string holder; // who holds the lock when kvmrun cannot match it to the QEMU
  std::vector<std::string> ports;
  std::optional<instance::Provenance> provenance;
};

std::string qemu_state(const instance::InstancePaths& paths) {
  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (monitor.connect_sync(paths.qmp_socket(), deadline_after(5s)).ok())
    if (auto s = qmp::query_status(monitor, deadline_after(5s)))
      return s->status;
  return "unresponsive";
}

json::object to_json(const InstanceStatus& s) {
  json::object o{{"name", s.name}, {"state", s.state}};
  if (s.pid)
    o["pid"] = *s.pid;
  if (s.uptime_s)
    o["uptime_s"] = *s.uptime_s;
  if (!s.holder.empty())
    o["lock_holder"] = s.holder;
  json::array ports;
  for (const auto& p : s.ports)
    ports.emplace_back(p);
  o["ports"] = std::move(ports);
  if (s.provenance)
    o["provenance"] = instance::to_json(*s.provenance, false);
  return o;
}

std::string to_text(const InstanceStatus& s) {
  std::string line = "  " + s.name + "  " + s.state;
  if (s.pid)
    line += "  pid " + std::to_string(*s.pid);
  if (s.uptime_s)
    line += "  up " + std::to_string(*s.uptime_s) + " s";
  if (!s.holder.empty())
    line += "  lock held by " + s.holder;
  for (const auto& p : s.ports)
    line += "  " + p;
  if (s.provenance)
    line += "  instance-id " + s.provenance->instance_id;
  return line;
}

std::string switch_state_name(const network::SwitchState& s) {
  switch (s.state) {
  case network::SwitchState::State::running: return "running";
  case network::SwitchState::State::foreign: return "busy";
  case network::SwitchState::State::stopped: return "stopped";
  }
  return "stopped";
}

} // namespace

int run_status(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env) {
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  int rc = 0;
  std::vector<InstanceStatus> all;
  for (const auto* i : ctx->selected) {
    const auto paths = ctx->paths(*i);
    InstanceStatus s{i->name, "stopped", {}, {}, {}, {}, {}};
    const auto live = instance::probe_instance(paths, ctx->lab.name, i->name);
    std::error_code ec;
    switch (live.state) {
    case instance::Liveness::State::running:
      s.pid = live.pid;
      if (const auto up = instance::process_uptime(*live.pid))
        s.uptime_s = static_cast<std::int64_t>(*up);
      s.state = qemu_state(paths);
      break;
    case instance::Liveness::State::foreign:
      s.state = "busy";
      s.holder = live.pid ? describe_pid(*live.pid) : "an unknown process";
      break;
    case instance::Liveness::State::stopped:
      s.state = std::filesystem::exists(paths.disk(), ec) ? "stopped" : "not provisioned";
      break;
    }
    // The lab's forwards are known even when the record of added ones is damaged.
    for (const auto& f : i->forwards)
      s.ports.push_back(lab::forward_text(f));
    if (auto added = instance::read_runtime_forwards(paths); !added)
      rc = fail(err, std::move(added).error().add_context("reading the status of " + i->name));
    else
      for (const auto& f : *added)
        s.ports.push_back(lab::forward_text(f));
    if (std::filesystem::exists(paths.provenance(), ec)) {
      auto prov = instance::read_provenance(paths.provenance());
      if (prov)
        s.provenance = std::move(prov).value();
      else
        rc = fail(err, std::move(prov).error().add_context("reading the status of " + i->name));
    }
    all.push_back(std::move(s));
  }
  const auto networks = network_status(*ctx);
  if (args.has("--json")) {
    json::array list;
    for (const auto& s : all)
      list.push_back(to_json(s));
    json::object doc{{"lab", ctx->lab.name}, {"instances", list}};
    if (!networks.empty()) {
      json::array nets;
      for (const auto& n : networks) {
        json::object o{{"name", n.network->name}, {"subnet", n.network->subnet}};
        if (!n.network->bridge.empty())
          o["bridge"] = n.network->bridge;
        else
          o["switch"] = switch_state_name(n.state);
        if (n.state.pid && n.state.state != network::SwitchState::State::stopped)
          o["pid"] = *n.state.pid;
        nets.push_back(std::move(o));
      }
      doc["networks"] = std::move(nets);
    }
    out << json::serialize(doc) << "\n";
    return rc;
  }
  out << "lab " << ctx->lab.name << "\n";
  for (const auto& s : all)
    out << to_text(s) << "\n";
  for (const auto& n : networks) {
    out << "  network " << n.network->name << "  " << n.network->subnet;
    if (!n.network->bridge.empty()) {
      out << "  bridge " << n.network->bridge << "\n";
      continue;
    }
    out << "  switch " << switch_state_name(n.state);
    if (n.state.pid && n.state.state != network::SwitchState::State::stopped)
      out << " pid " << *n.state.pid;
    out << "\n";
  }
  return rc;
}

} // namespace kvmrun::cli
