#include "metrics/collect.hpp"

#include "base/event_loop.hpp"
#include "base/file_io.hpp"
#include "evidence/process_usage.hpp"
#include "evidence/run_records.hpp"
#include "evidence/stopwatch.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"

#include <chrono>
#include <map>
#include <sstream>

namespace kvmrun::metrics {

namespace {

using namespace std::chrono_literals;
using Labels = std::vector<std::pair<std::string, std::string>>;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The name a block node has in the metrics: the root disk, an extra disk's own name, the seed.
std::string disk_name(const lab::InstanceSpec& inst, const std::string& node) {
  if (node == instance::root_node)
    return "root";
  for (std::size_t k = 0; k < inst.disks.size(); ++k)
    if (node == instance::extra_disk_node(k))
      return inst.disks[k].name;
  return node;
}

struct Families {
  Family build{"kvmrun_build_info", "kvmrun's and QEMU's versions (always 1)", Type::gauge, {}};
  Family up{"kvmrun_instance_up", "1 when the instance's QEMU runs, else 0", Type::gauge, {}};
  Family cpu{"kvmrun_qemu_cpu_seconds_total",
             "CPU time of the instance's QEMU (user + system)",
             Type::counter,
             {}};
  Family rss{"kvmrun_qemu_resident_memory_bytes",
             "resident memory of the instance's QEMU",
             Type::gauge,
             {}};
  Family rd_bytes{
      "kvmrun_disk_read_bytes_total", "bytes the guest read from the disk", Type::counter, {}};
  Family wr_bytes{
      "kvmrun_disk_written_bytes_total", "bytes the guest wrote to the disk", Type::counter, {}};
  Family rd_ops{"kvmrun_disk_reads_total", "read operations on the disk", Type::counter, {}};
  Family wr_ops{"kvmrun_disk_writes_total", "write operations on the disk", Type::counter, {}};
  Family rx_bytes{"kvmrun_network_receive_bytes_total",
                  "bytes the guest's interface received (its own counter, via the agent)",
                  Type::counter,
                  {}};
  Family tx_bytes{"kvmrun_network_transmit_bytes_total",
                  "bytes the guest's interface sent (its own counter, via the agent)",
                  Type::counter,
                  {}};
  Family rx_packets{"kvmrun_network_receive_packets_total",
                    "packets the guest's interface received",
                    Type::counter,
                    {}};
  Family tx_packets{"kvmrun_network_transmit_packets_total",
                    "packets the guest's interface sent",
                    Type::counter,
                    {}};
  Family clock{"kvmrun_guest_clock_offset_seconds",
               "the guest's clock minus the host's (guest-get-time against the host clock at the "
               "midpoint of the call)",
               Type::gauge,
               {}};
  Family stage{"kvmrun_last_run_stage_duration_seconds",
               "how long each stage of the lab's last run took",
               Type::gauge,
               {}};
  Family gate{"kvmrun_last_run_gate_duration_seconds",
              "how long each readiness gate of the lab's last run took, per instance",
              Type::gauge,
              {}};
  Family ready{"kvmrun_last_run_ready_seconds",
               "from the start of the lab's last run to the instance's last gate",
               Type::gauge,
               {}};
  Family success{
      "kvmrun_last_run_success", "1 when the lab's last run ended ok, else 0", Type::gauge, {}};
  Family finished{
      "kvmrun_last_run_timestamp_seconds", "when the lab's last run ended", Type::gauge, {}};
};

void instance_series(Families& f, const LabTarget& t, const lab::InstanceSpec& inst,
                     const instance::InstancePaths& paths) {
  const Labels id{{"lab", t.lab}, {"instance", inst.name}};
  const auto pid = instance::running_pid(paths, t.lab, inst.name);
  f.up.samples.push_back({id, pid ? 1.0 : 0.0});
  if (!pid)
    return;
  if (const auto u = evidence::process_usage(*pid)) {
    f.cpu.samples.push_back({id, std::chrono::duration<double>(u->cpu()).count()});
    f.rss.samples.push_back({id, static_cast<double>(u->rss_kib) * 1024});
  }
  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (monitor.connect_sync(paths.qmp_socket(), deadline_after(3s)))
    if (auto stats = qmp::query_blockstats(monitor, deadline_after(3s)))
      for (const auto& b : *stats) {
        Labels l = id;
        l.emplace_back("disk", disk_name(inst, b.node));
        f.rd_bytes.samples.push_back({l, static_cast<double>(b.read_bytes)});
        f.wr_bytes.samples.push_back({l, static_cast<double>(b.write_bytes)});
        f.rd_ops.samples.push_back({l, static_cast<double>(b.read_operations)});
        f.wr_ops.samples.push_back({l, static_cast<double>(b.write_operations)});
      }
  qmp::AgentClient agent(loop);
  if (!agent.connect(paths.agent_socket()))
    return;
  if (auto ifaces = qmp::guest_network_interfaces(agent, deadline_after(3s)))
    for (const auto& i : *ifaces) {
      if (i.name == "lo")
        continue;
      Labels l = id;
      l.emplace_back("interface", i.name);
      l.emplace_back("mac", i.mac);
      const auto add = [&](Family& fam, const std::optional<std::uint64_t>& v) {
        if (v)
          fam.samples.push_back({l, static_cast<double>(*v)});
      };
      add(f.rx_bytes, i.rx_bytes);
      add(f.tx_bytes, i.tx_bytes);
      add(f.rx_packets, i.rx_packets);
      add(f.tx_packets, i.tx_packets);
    }
  const double before = now_seconds();
  if (auto guest = qmp::guest_get_time(agent, deadline_after(3s))) {
    const double after = now_seconds();
    f.clock.samples.push_back({id, static_cast<double>(*guest) / 1e9 - (before + after) / 2});
  }
}

} // namespace

Result<RunFigures> read_run(const std::filesystem::path& run_dir) {
  auto run = evidence::read_run_records(run_dir);
  if (!run)
    return std::move(run).error();
  const auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  RunFigures r;
  r.ok = run->outcome == "ok";
  r.finished_at = seconds((run->started + run->wall).time_since_epoch());
  std::map<std::string, double> stages;
  std::map<std::string, double> last_end; // seconds after the start
  for (const auto& e : run->events) {
    if (e.kind == "stage")
      stages[e.name] += seconds(e.duration);
    if (e.kind != "gate")
      continue;
    r.gates.emplace_back(e.instance, e.name, seconds(e.duration));
    last_end[e.instance] =
        std::max(last_end[e.instance], seconds(e.start + e.duration - run->started));
  }
  r.stages.assign(stages.begin(), stages.end());
  r.ready.assign(last_end.begin(), last_end.end());
  return r;
}

std::vector<Family> collect(const LabTarget& t) {
  Families f;
  f.build.samples.push_back(
      {{{"version", t.kvmrun_version}, {"qemu_version", t.qemu_version}}, 1.0});
  for (const auto& [inst, paths] : t.instances)
    instance_series(f, t, *inst, paths);
  std::error_code ec;
  const auto latest = t.lab_evidence / "runs" / "latest";
  if (std::filesystem::exists(latest, ec))
    if (auto run = read_run(latest)) {
      const Labels lab{{"lab", t.lab}};
      for (const auto& [stage, s] : run->stages) {
        Labels l = lab;
        l.emplace_back("stage", stage);
        f.stage.samples.push_back({l, s});
      }
      for (const auto& [inst, gate, s] : run->gates)
        f.gate.samples.push_back({{{"lab", t.lab}, {"instance", inst}, {"gate", gate}}, s});
      for (const auto& [inst, s] : run->ready)
        f.ready.samples.push_back({{{"lab", t.lab}, {"instance", inst}}, s});
      f.success.samples.push_back({lab, run->ok ? 1.0 : 0.0});
      f.finished.samples.push_back({lab, run->finished_at});
    }
  return {f.build,  f.up,     f.cpu,      f.rss,      f.rd_bytes,   f.wr_bytes,
          f.rd_ops, f.wr_ops, f.rx_bytes, f.tx_bytes, f.rx_packets, f.tx_packets,
          f.clock,  f.stage,  f.gate,     f.ready,    f.success,    f.finished};
}

} // namespace kvmrun::metrics
