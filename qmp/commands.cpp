#include "qmp/commands.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace kvmrun::qmp {

namespace {

Status discard(Result<boost::json::value> r) {
  if (!r)
    return std::move(r).error();
  return {};
}

Result<boost::json::array> as_array(Result<boost::json::value> r, std::string_view command) {
  if (!r)
    return std::move(r).error();
  if (!r->is_array())
    return Error(ErrorCode::protocol, std::string(command) + " did not return an array");
  return r->as_array();
}

boost::json::array strings(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& s : items)
    out.emplace_back(s);
  return out;
}

// Starts a snapshot job and waits until it concludes; reports the job's error, then dismisses it.
Status run_job(QmpClient& qmp, std::string_view command, boost::json::object arguments,
               Deadline deadline) {
  static std::uint64_t counter = 0;
  const std::string job = "kvmrun-" + std::string(command) + "-" + std::to_string(++counter);
  arguments["job-id"] = job;
  if (auto started = qmp.execute_sync(command, std::move(arguments), deadline); !started)
    return std::move(started).error();
  while (true) {
    auto event = qmp.wait_event_sync("JOB_STATUS_CHANGE", deadline);
    if (!event)
      return std::move(event).error().add_context("waiting for job " + job);
    const auto* id = event->data.if_contains("id");
    const auto* status = event->data.if_contains("status");
    if (id && id->is_string() && id->as_string() == job && status && status->is_string() &&
        status->as_string() == "concluded")
      break;
  }
  auto jobs = as_array(qmp.execute_sync("query-jobs", {}, deadline), "query-jobs");
  if (!jobs)
    return std::move(jobs).error();
  std::string failure;
  for (const auto& j : *jobs) {
    const auto* obj = j.if_object();
    if (obj == nullptr)
      continue;
    const auto* id = obj->if_contains("id");
    if (id && id->is_string() && id->as_string() == job)
      if (const auto* error = obj->if_contains("error"); error && error->is_string())
        failure = std::string(error->as_string());
  }
  (void)qmp.execute_sync("job-dismiss", {{"id", job}}, deadline);
  if (!failure.empty())
    return Error(ErrorCode::qemu, std::string(command) + " failed: " + failure);
  return {};
}

} // namespace

Result<VmStatus> query_status(QmpClient& qmp, Deadline deadline) {
  auto r = qmp.execute_sync("query-status", {}, deadline);
  if (!r)
    return std::move(r).error();
  const auto* obj = r->if_object();
  const auto* status = obj ? obj->if_contains("status") : nullptr;
  const auto* running = obj ? obj->if_contains("running") : nullptr;
  if (!status || !status->is_string() || !running || !running->is_bool())
    return Error(ErrorCode::protocol, "query-status returned " + boost::json::serialize(*r));
  return VmStatus{std::string(status->as_string()), running->as_bool()};
}

Status cont(QmpClient& qmp, Deadline d) { return discard(qmp.execute_sync("cont", {}, d)); }
Status stop(QmpClient& qmp, Deadline d) { return discard(qmp.execute_sync("stop", {}, d)); }
Status system_powerdown(QmpClient& qmp, Deadline d) {
  return discard(qmp.execute_sync("system_powerdown", {}, d));
}
Status system_reset(QmpClient& qmp, Deadline d) {
  return discard(qmp.execute_sync("system_reset", {}, d));
}

Status quit(QmpClient& qmp, Deadline deadline) {
  auto r = qmp.execute_sync("quit", {}, deadline);
  if (!r && r.error().code() == ErrorCode::qemu &&
      r.error().describe().find("connection lost") != std::string::npos)
    return {};
  return discard(std::move(r));
}

Result<boost::json::array> query_block(QmpClient& qmp, Deadline d) {
  return as_array(qmp.execute_sync("query-block", {}, d), "query-block");
}

Result<boost::json::array> query_cpus_fast(QmpClient& qmp, Deadline d) {
  return as_array(qmp.execute_sync("query-cpus-fast", {}, d), "query-cpus-fast");
}

Result<std::string> human_monitor_command(QmpClient& qmp, const std::string& line, Deadline d) {
  auto r = qmp.execute_sync("human-monitor-command", {{"command-line", line}}, d);
  if (!r)
    return std::move(r).error();
  if (!r->is_string())
    return Error(ErrorCode::protocol, "human-monitor-command did not return text");
  return std::string(r->as_string());
}

Status snapshot_save(QmpClient& qmp, const std::string& tag, const std::string& vmstate_node,
                     const std::vector<std::string>& devices, Deadline deadline) {
  return run_job(qmp, "snapshot-save",
                 {{"tag", tag}, {"vmstate", vmstate_node}, {"devices", strings(devices)}}, deadline)
      .context("saving snapshot " + tag);
}

Status snapshot_load(QmpClient& qmp, const std::string& tag, const std::string& vmstate_node,
                     const std::vector<std::string>& devices, Deadline deadline) {
  return run_job(qmp, "snapshot-load",
                 {{"tag", tag}, {"vmstate", vmstate_node}, {"devices", strings(devices)}}, deadline)
      .context("loading snapshot " + tag);
}

Status snapshot_delete(QmpClient& qmp, const std::string& tag,
                       const std::vector<std::string>& devices, Deadline deadline) {
  return run_job(qmp, "snapshot-delete", {{"tag", tag}, {"devices", strings(devices)}}, deadline)
      .context("deleting snapshot " + tag);
}

Result<std::vector<SnapshotInfo>> list_snapshots(QmpClient& qmp, const std::string& node,
                                                 Deadline deadline) {
  auto nodes = as_array(qmp.execute_sync("query-named-block-nodes", {{"flat", true}}, deadline),
                        "query-named-block-nodes");
  if (!nodes)
    return std::move(nodes).error();
  for (const auto& n : *nodes) {
    const auto* obj = n.if_object();
    const auto* name = obj ? obj->if_contains("node-name") : nullptr;
    if (!name || !name->is_string() || name->as_string() != node)
      continue;
    std::vector<SnapshotInfo> out;
    const auto* image = obj->if_contains("image");
    const auto* snaps =
        image && image->is_object() ? image->as_object().if_contains("snapshots") : nullptr;
    if (snaps && snaps->is_array())
      for (const auto& s : snaps->as_array()) {
        const auto* so = s.if_object();
        if (!so)
          continue;
        SnapshotInfo info;
        if (const auto* v = so->if_contains("name"); v && v->is_string())
          info.name = std::string(v->as_string());
        if (const auto* v = so->if_contains("vm-state-size"); v && v->is_uint64())
          info.vm_state_size = v->as_uint64();
        else if (v && v->is_int64() && v->as_int64() >= 0)
          info.vm_state_size = static_cast<std::uint64_t>(v->as_int64());
        if (const auto* v = so->if_contains("date-sec"); v && v->is_number())
          info.date = v->to_number<double>();
        out.push_back(std::move(info));
      }
    return out;
  }
  return Error(ErrorCode::qemu, "QEMU has no block node named " + node);
}

Result<bool> has_snapshot(QmpClient& qmp, const std::string& node, const std::string& tag,
                          Deadline deadline) {
  auto list = list_snapshots(qmp, node, deadline);
  if (!list)
    return std::move(list).error();
  return std::any_of(list->begin(), list->end(),
                     [&](const SnapshotInfo& s) { return s.name == tag; });
}

namespace {

std::uint64_t unsigned_field(const boost::json::object* o, std::string_view key) {
  const auto* v = o ? o->if_contains(key) : nullptr;
  if (v && v->is_int64() && v->as_int64() >= 0)
    return static_cast<std::uint64_t>(v->as_int64());
  if (v && v->is_uint64())
    return v->as_uint64();
  return 0;
}

// Waits for the MIGRATION event that ends the migration, then reads its figures.
Result<MigrationStats> finish_migration(QmpClient& qmp, std::string_view what, Deadline deadline) {
  std::string status;
  while (status != "completed" && status != "failed" && status != "cancelled") {
    auto event = qmp.wait_event_sync("MIGRATION", deadline);
    if (!event)
      return std::move(event).error().add_context(std::string("waiting for the ") +
                                                  std::string(what) + " to end");
    const auto* s = event->data.if_contains("status");
    status = s && s->is_string() ? std::string(s->as_string()) : "";
  }
  MigrationStats stats;
  stats.status = status;
  if (auto q = qmp.execute_sync("query-migrate", {}, deadline); q && q->is_object()) {
    const auto& o = q->as_object();
    const auto* ram = o.if_contains("ram");
    const auto* ram_o = ram ? ram->if_object() : nullptr;
    stats.transferred_bytes = unsigned_field(ram_o, "transferred");
    stats.ram_total_bytes = unsigned_field(ram_o, "total");
    stats.total_ms = unsigned_field(&o, "total-time");
    if (const auto* e = o.if_contains("error-desc"); e && e->is_string())
      stats.error = std::string(e->as_string());
  }
  if (status != "completed")
    return Error(ErrorCode::qemu, std::string(what) + " " + status +
                                      (stats.error.empty() ? "" : ": " + stats.error));
  return stats;
}

} // namespace

Status prepare_migration(QmpClient& qmp, Deadline deadline) {
  boost::json::array caps;
  caps.push_back(boost::json::object{{"capability", "events"}, {"state", true}});
  if (auto s =
          discard(qmp.execute_sync("migrate-set-capabilities", {{"capabilities", caps}}, deadline));
      !s)
    return s;
  // The largest value QEMU 7.2 accepts is SIZE_MAX / 1e6 bytes per second; 1 TB/s is no cap.
  return discard(qmp.execute_sync("migrate-set-parameters",
                                  {{"max-bandwidth", std::int64_t{1'000'000'000'000}}}, deadline));
}

Result<MigrationStats> migrate(QmpClient& qmp, const std::string& uri, Deadline deadline) {
  if (auto s = discard(qmp.execute_sync("migrate", {{"uri", uri}}, deadline)); !s)
    return std::move(s).error();
  return finish_migration(qmp, "migration", deadline);
}

Result<MigrationStats> migrate_incoming(QmpClient& qmp, const std::string& uri, Deadline deadline) {
  if (auto s = discard(qmp.execute_sync("migrate-incoming", {{"uri", uri}}, deadline)); !s)
    return std::move(s).error();
  return finish_migration(qmp, "incoming migration", deadline);
}

Result<std::vector<BlockStats>> query_blockstats(QmpClient& qmp, Deadline deadline) {
  auto all = as_array(qmp.execute_sync("query-blockstats", {}, deadline), "query-blockstats");
  if (!all)
    return std::move(all).error();
  std::vector<BlockStats> out;
  for (const auto& entry : *all) {
    const auto* o = entry.if_object();
    const auto* node = o ? o->if_contains("node-name") : nullptr;
    const auto* stats = o ? o->if_contains("stats") : nullptr;
    if (node == nullptr || !node->is_string() || stats == nullptr || !stats->is_object())
      continue;
    const auto* st = &stats->as_object();
    out.push_back({std::string(node->as_string()), unsigned_field(st, "rd_bytes"),
                   unsigned_field(st, "wr_bytes"), unsigned_field(st, "rd_operations"),
                   unsigned_field(st, "wr_operations")});
  }
  return out;
}

} // namespace kvmrun::qmp
