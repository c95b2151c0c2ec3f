// `kvmrun status|check|exec|console|snapshot|down|report`: commands on instances that an
// earlier kvmrun started (found through their lock and QMP socket, never a bare pid).
#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"
#include "runner/evidence.hpp"
#include "runner/gates.hpp"
#include "runner/instance_control.hpp"
#include "runner/lab_commands.hpp"
#include "runner/lab_context.hpp"
#include "runner/qemu_argv.hpp"
#include "runner/seed_command.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <iostream>

namespace kvmrun::runner {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Commands that take exactly one instance name first.
Result<std::pair<LabContext, const lab::InstanceSpec*>> one_instance(const ParsedArgs& args,
                                                                     const CliEnvironment& env,
                                                                     std::size_t position,
                                                                     const std::string& usage) {
  if (args.positional.size() <= position)
    return Error(ErrorCode::usage, "missing the instance name", "usage: " + usage);
  auto ctx = open_lab(args, env, {args.positional[position]});
  if (!ctx)
    return std::move(ctx).error();
  const auto* instance = ctx->selected.front();
  return std::make_pair(std::move(ctx).value(), instance);
}

Error not_running(const lab::InstanceSpec& i) {
  return Error(ErrorCode::qemu, "instance '" + i.name + "' is not running",
               "start it with `kvmrun up " + i.name + "`");
}

std::vector<std::string> snapshot_devices(const lab::InstanceSpec& i) {
  std::vector<std::string> devices{root_node};
  for (std::size_t k = 0; k < i.disks.size(); ++k)
    devices.push_back(extra_disk_node(k));
  return devices;
}

std::string expected_instance_id(const lab::InstanceSpec& i) {
  auto seed = build_seed_image(i);
  return seed ? seed->documents.instance_id : std::string();
}

} // namespace

int run_status(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env) {
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  json::array list;
  for (const auto* i : ctx->selected) {
    const auto paths = ctx->paths(*i);
    json::object o{{"name", i->name}, {"state", "stopped"}};
    if (const auto pid = running_pid(paths, ctx->lab.name, i->name)) {
      o["pid"] = *pid;
      if (const auto up = process_uptime(*pid))
        o["uptime_s"] = static_cast<std::int64_t>(*up);
      EventLoop loop;
      qmp::QmpClient monitor(loop);
      std::string state = "unresponsive";
      if (monitor.connect_sync(paths.qmp_socket(), deadline_after(5s)).ok())
        if (auto s = qmp::query_status(monitor, deadline_after(5s)))
          state = s->status;
      o["state"] = state;
    } else {
      std::error_code ec;
      o["state"] = std::filesystem::exists(paths.disk(), ec) ? "stopped" : "not provisioned";
    }
    json::array ports;
    for (const auto& f : i->forwards)
      ports.push_back(json::value(f.host_address + ":" + std::to_string(f.host_port) + "->" +
                                  std::to_string(f.guest_port) +
                                  (f.protocol == lab::Protocol::udp ? "/udp" : "")));
    o["ports"] = ports;
    if (auto prov = read_file(paths.provenance(), 1U << 20U)) {
      boost::system::error_code ec;
      auto doc = json::parse(*prov, ec);
      if (!ec && doc.is_object()) {
        doc.as_object().erase("argv");
        o["provenance"] = doc;
      }
    }
    list.push_back(o);
  }
  if (args.has("--json")) {
    out << json::serialize(json::object{{"lab", ctx->lab.name}, {"instances", list}}) << "\n";
    return 0;
  }
  out << "lab " << ctx->lab.name << "\n";
  for (const auto& v : list) {
    const auto& o = v.as_object();
    std::string line = "  " + std::string(o.at("name").as_string()) + "  " +
                       std::string(o.at("state").as_string());
    if (o.contains("pid"))
      line += "  pid " + json::serialize(o.at("pid"));
    if (o.contains("uptime_s"))
      line += "  up " + json::serialize(o.at("uptime_s")) + " s";
    for (const auto& p : o.at("ports").as_array())
      line += "  " + std::string(p.as_string());
    if (o.contains("provenance") && o.at("provenance").as_object().contains("instance_id"))
      line += "  instance-id " +
              std::string(o.at("provenance").as_object().at("instance_id").as_string());
    out << line << "\n";
  }
  return 0;
}

int run_check(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env) {
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  int rc = 0;
  for (const auto* i : ctx->selected) {
    const auto paths = ctx->paths(*i);
    const auto pid = running_pid(paths, ctx->lab.name, i->name);
    if (!pid) {
      rc = fail(err, not_running(*i));
      continue;
    }
    GateTarget target{ctx->lab.name, *i, paths, false, 60'000ms, {}};
    target.provenance.instance_id = expected_instance_id(*i);
    auto s = run_gates(target, GateMode::recheck, [&](const GateOutcome& o) {
      out << gate_line(o) << "\n" << std::flush;
    });
    if (!s)
      rc = fail(err, s.error());
  }
  return rc;
}

int run_exec(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  const std::string usage = "kvmrun exec INSTANCE [--timeout DURATION] -- COMMAND [ARGS...]";
  auto found = one_instance(args, env, 0, usage);
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  if (args.trailing.empty())
    return fail(err, Error(ErrorCode::usage, "exec needs a command after --", "usage: " + usage));
  std::chrono::milliseconds timeout = 300s;
  if (const auto t = args.value("--timeout")) {
    unsigned secs = 0;
    const auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), secs);
    if (ec != std::errc() || p != t->data() + t->size() || secs == 0)
      return fail(err, Error(ErrorCode::usage, "--timeout takes whole seconds, got '" + *t + "'"));
    timeout = std::chrono::seconds(secs);
  }
  const auto paths = ctx.paths(*instance);
  if (!running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  EventLoop loop;
  qmp::AgentClient agent(loop);
  if (auto c = agent.connect(paths.agent_socket()); !c)
    return fail(err, c.error());
  const std::vector<std::string> rest(args.trailing.begin() + 1, args.trailing.end());
  auto r = qmp::guest_run(agent, args.trailing.front(), rest, deadline_after(timeout));
  if (!r)
    return fail(err, r.error());
  out << r->out;
  err << r->err;
  if (r->truncated)
    err << "kvmrun: the guest agent truncated the output\n";
  if (r->signal != 0)
    return 128 + r->signal;
  return r->exit_code;
}

int run_console(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                const CliEnvironment& env) {
  auto found = one_instance(args, env, 0, "kvmrun console INSTANCE [--follow]");
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  const auto paths = ctx.paths(*instance);
  // The log QEMU writes, then (--follow) what it appends while QEMU runs, as `tail -f` does: the
  // serial socket serves one client, and `up`'s gates may be holding it.
  std::optional<pid_t> pid;
  if (args.has("--follow"))
    pid = running_pid(paths, ctx.lab.name, instance->name);
  const auto open_log = [&] {
    return UniqueFd(::open(paths.serial_log().c_str(), O_RDONLY | O_CLOEXEC));
  };
  UniqueFd log = open_log();
  // QEMU creates the log as it starts: following a console the moment `up` started QEMU waits
  // (up to 5 s) for it to appear.
  for (int tries = 0; !log.valid() && pid && tries < 50; ++tries) {
    if (wait_exit(*pid, 100ms))
      break;
    log = open_log();
  }
  if (!log.valid())
    return fail(err, Error(ErrorCode::io, "instance '" + instance->name + "' has no serial log",
                           "it has not been started yet: `kvmrun up " + instance->name + "`"));
  off_t offset = 0;
  const auto copy_new = [&] {
    char buf[65536];
    ssize_t n = 0;
    while ((n = ::pread(log.get(), buf, sizeof buf, offset)) > 0) {
      out.write(buf, static_cast<std::streamsize>(n));
      offset += n;
    }
    out.flush();
  };
  copy_new();
  if (!pid)
    return 0;
  bool exited = false;
  while (!exited) {
    exited = wait_exit(*pid, 200ms);
    copy_new();
  }
  return 0;
}

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
  if (needs_tag &&
      (tag.empty() || tag.size() > 64 ||
       tag.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos))
    return fail(err, Error(ErrorCode::usage, "snapshot tag '" + tag + "' is not a plain name",
                           "use lower-case letters, digits, '-', '_' and '.' (at most 64)"));
  const auto paths = ctx.paths(*instance);
  if (!running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (auto c = monitor.connect_sync(paths.qmp_socket(), deadline_after(10s)); !c)
    return fail(err, c.error());
  const auto devices = snapshot_devices(*instance);
  const auto deadline =
      deadline_after(std::max<std::chrono::milliseconds>(instance->timeouts.shutdown, 600s));
  if (action == "list") {
    auto list = qmp::list_snapshots(monitor, root_node, deadline);
    if (!list)
      return fail(err, list.error());
    for (const auto& s : *list)
      out << s.name << "\n";
    return 0;
  }
  if (action == "create" || action == "revert") {
    auto existing = qmp::list_snapshots(monitor, root_node, deadline);
    if (!existing)
      return fail(err, existing.error());
    const bool exists = std::any_of(existing->begin(), existing->end(),
                                    [&](const auto& s) { return s.name == tag; });
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
    s = qmp::snapshot_save(monitor, tag, root_node, devices, deadline);
  else if (action == "revert")
    s = qmp::snapshot_load(monitor, tag, root_node, devices, deadline);
  else
    s = qmp::snapshot_delete(monitor, tag, devices, deadline);
  if (!s)
    return fail(err, s.error());
  // snapshot-load leaves the VM as the snapshot was (running); make sure it runs.
  if (action == "revert")
    if (auto st = qmp::query_status(monitor, deadline_after(10s)); st && !st->running)
      (void)qmp::cont(monitor, deadline_after(10s));
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  out << "snapshot " << action << " " << instance->name << " " << tag << ": done in " << ms
      << " ms\n";
  return 0;
}

int run_down(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  const bool dry = args.has("--dry-run");
  const bool purge = args.has("--purge-disks");
  int rc = 0;
  for (const auto* i : ctx->selected) {
    const auto paths = ctx->paths(*i);
    const auto pid = running_pid(paths, ctx->lab.name, i->name);
    if (dry) {
      out << i->name << ": "
          << (pid ? "would stop QEMU pid " + std::to_string(*pid) +
                        " (ACPI powerdown, then QMP quit, SIGTERM, SIGKILL; " +
                        std::to_string(i->timeouts.shutdown.count() / 1000) + " s each)"
                  : std::string("not running"))
          << "\n";
      if (purge)
        out << i->name << ": would remove " << paths.state.string()
            << " (its disks, seed and logs; base images stay)\n";
      continue;
    }
    if (pid) {
      auto stopped = stop_instance(paths, ctx->lab.name, *i, *pid, [&](const std::string& step) {
        out << i->name << ": " << step << "\n" << std::flush;
      });
      if (!stopped) {
        rc = fail(err, stopped.error());
        continue;
      }
      out << i->name << ": " << stopped_text(*stopped) << "\n";
    } else {
      remove_runtime_files(paths);
      out << i->name << ": not running\n";
    }
    if (purge) {
      std::error_code ec;
      std::filesystem::remove_all(paths.state, ec);
      if (ec)
        rc = fail(err,
                  Error(ErrorCode::io, "removing " + paths.state.string() + ": " + ec.message()));
      else
        out << i->name << ": removed " << paths.state.string() << "\n";
    }
  }
  return rc;
}

int run_report(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env) {
  std::filesystem::path run;
  if (!args.positional.empty()) {
    run = args.positional.front();
  } else {
    auto ctx = open_lab(args, env, {});
    if (!ctx)
      return fail(err, ctx.error());
    run = ctx->lab_state() / "runs" / "latest";
  }
  auto text = render_report(run);
  if (!text)
    return fail(err, text.error());
  out << *text;
  return 0;
}

} // namespace kvmrun::runner
