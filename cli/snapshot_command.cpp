// `kvmrun snapshot create|list|revert|delete INSTANCE [TAG]`: internal qcow2 snapshots of the
// instance's disks and RAM, through QMP's snapshot jobs.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "lab/values.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"

namespace kvmrun::cli {

using namespace std::chrono_literals;

int run_snapshot(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                 const CliEnvironment& env) {
  const std::string usage = "kvmrun snapshot create|list|revert|delete INSTANCE [TAG]";
  if (args.positional.empty())
    return fail(err, Error(ErrorCode::usage, "missing the snapshot action", "usage: " + usage));
  const std::string action = args.positional.front();
  if (action != "create" && action != "list" && action != "revert" && action != "delete")
    return fail(err, Error(ErrorCode::usage, "unknown snapshot action '" + action + "'",
                           "usage: " + usage));
  auto found = one_instance(args, env, 1, usage);
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  const bool needs_tag = action != "list";
  if (needs_tag && args.positional.size() < 3)
    return fail(err,
                Error(ErrorCode::usage, "snapshot " + action + " needs a TAG", "usage: " + usage));
  const std::string tag = needs_tag ? args.positional[2] : "";
  if (needs_tag && !lab::is_valid_snapshot_tag(tag))
    return fail(err, Error(ErrorCode::usage, "snapshot tag '" + tag + "' is not a plain name",
                           "use lower-case letters, digits, '-', '_' and '.' (at most 64)"));
  const auto paths = ctx.paths(*instance);
  if (!instance::running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (auto c = monitor.connect_sync(paths.qmp_socket(), deadline_after(10s)); !c)
    return fail(err, c.error());
  const auto devices = instance::disk_nodes(*instance);
  const auto deadline = snapshot_deadline(*instance);
  if (action == "list") {
    auto list = qmp::list_snapshots(monitor, instance::root_node, deadline);
    if (!list)
      return fail(err, list.error());
    for (const auto& s : *list)
      out << s.name << "\n";
    return 0;
  }
  if (action == "create" || action == "revert") {
    auto has = qmp::has_snapshot(monitor, instance::root_node, tag, deadline);
    if (!has)
      return fail(err, has.error());
    const bool exists = *has;
    if (action == "create" && exists)
      return fail(err,
                  Error(ErrorCode::usage,
                        "instance '" + instance->name + "' already has a snapshot '" + tag + "'",
                        "pick another tag, or `kvmrun snapshot delete " + instance->name + " " +
                            tag + "` first"));
    if (action == "revert" && !exists)
      return fail(err, Error(ErrorCode::usage,
                             "instance '" + instance->name + "' has no snapshot '" + tag + "'",
                             "`kvmrun snapshot list " + instance->name + "` shows them"));
  }
  const auto started = Clock::now();
  Status s;
  if (action == "create")
    s = qmp::snapshot_save(monitor, tag, instance::root_node, devices, deadline);
  else if (action == "revert")
    s = qmp::snapshot_load(monitor, tag, instance::root_node, devices, deadline);
  else
    s = qmp::snapshot_delete(monitor, tag, devices, deadline);
  if (!s)
    return fail(err, s.error());
  // snapshot-load leaves the VM as the snapshot was (running); make sure it runs, and say so
  // when it does not: a reverted guest left paused is not "done".
  if (action == "revert") {
    auto st = qmp::query_status(monitor, deadline_after(10s));
    Status resumed = st ? Status() : Status(std::move(st).error());
    if (resumed && !st->running)
      resumed = qmp::cont(monitor, deadline_after(10s));
    if (!resumed)
      return fail(err, std::move(resumed)
                           .error()
                           .add_context("resuming " + instance->name + " after reverting to " + tag)
                           .set_remedy("the snapshot was loaded but the guest may be paused: "
                                       "`kvmrun qmp " +
                                       instance->name + " cont`, or `kvmrun down " +
                                       instance->name + "`"));
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  out << "snapshot " << action << " " << instance->name << " " << tag << ": done in " << ms
      << " ms\n";
  return 0;
}

} // namespace kvmrun::cli
