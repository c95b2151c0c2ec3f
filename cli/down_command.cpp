// `kvmrun down [INSTANCE...] [--dry-run] [--purge-disks] [--json]`: the stop ladder for every
// running instance at once (the lab is down as soon as its slowest instance is), then (opt-in) each
// one's state directory. Nothing is removed while a process kvmrun cannot
// match to the instance holds its lock.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/lab_networks.hpp"
#include "cli/views.hpp"
#include "evidence/stopwatch.hpp"
#include "instance/qemu_process.hpp"

#include <algorithm>
#include <thread>

namespace kvmrun::cli {

int run_down(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  return run_streamed(args, out, err,
                      [&](std::ostream& human, evidence::EventStream* stream, std::string&) {
                        return down_lab(args, human, err, env, stream);
                      });
}

int down_lab(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env, evidence::EventStream* stream) {
  const auto note = [&](const evidence::TimingEvent& e) {
    if (stream != nullptr)
      stream->end(e);
  };
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  const bool dry = args.has("--dry-run");
  const bool purge = args.has("--purge-disks");
  int rc = 0;
  // First what each instance is; then every running one stopped at once; then, in order, what
  // happened and (opt-in) its disks removed.
  std::vector<const lab::InstanceSpec*> targets;
  std::vector<instance::StopRequest> running;
  for (const auto* i : ctx->selected) {
    const auto paths = ctx->paths(*i);
    auto live = instance::probe_instance(paths, ctx->lab.name, i->name);
    // Racing an `up` that is starting it: its QEMU is moments away; wait for it (bounded), then
    // stop that.
    const auto starting = [&] {
      return live.state == instance::Liveness::State::foreign && live.pid &&
             instance::runs_program(*live.pid, env.self);
    };
    if (!dry && starting()) {
      out << i->name << ": another kvmrun (" << describe_pid(*live.pid)
          << ") is starting it; waiting for its QEMU\n"
          << std::flush;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (starting() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        live = instance::probe_instance(paths, ctx->lab.name, i->name);
      }
    }
    if (live.state == instance::Liveness::State::foreign) {
      rc = fail(err, instance::held_by_another(i->name, live));
      continue;
    }
    const bool up = live.state == instance::Liveness::State::running;
    if (dry) {
      out << i->name << ": "
          << (up ? "would stop QEMU pid " + std::to_string(*live.pid) +
                       " (ACPI powerdown, then QMP quit, SIGTERM, SIGKILL; " +
                       std::to_string(i->timeouts.shutdown.count() / 1000) + " s each)"
                 : std::string("not running"))
          << "\n";
      if (purge)
        out << i->name << ": would remove " << paths.state.string()
            << " (its disks, seed and logs; base images stay)\n";
      continue;
    }
    targets.push_back(i);
    if (up)
      running.push_back({paths, i, *live.pid});
  }
  const auto stopping = std::chrono::system_clock::now();
  if (stream != nullptr)
    for (const auto& r : running)
      stream->start("task", "stop qemu", r.instance->name);
  auto stopped = instance::stop_instances(ctx->lab.name, running,
                                          [&](const std::string& name, const std::string& step) {
                                            out << name << ": " << step << "\n" << std::flush;
                                          });
  for (const auto* i : targets) {
    const auto paths = ctx->paths(*i);
    const auto it = std::find_if(running.begin(), running.end(),
                                 [&](const instance::StopRequest& r) { return r.instance == i; });
    if (it != running.end()) {
      auto& result = stopped[static_cast<std::size_t>(it - running.begin())];
      note(stop_record(i->name, stopping, result));
      if (!result) {
        rc = fail(err, result.error());
        continue;
      }
      out << i->name << ": " << instance::stopped_text(*result) << "\n";
    } else {
      if (auto removed = instance::remove_runtime_files(paths, i->name); !removed) {
        rc = fail(err, removed.error());
        continue;
      }
      note({"task", "stop qemu", i->name, std::chrono::system_clock::now(),
            std::chrono::milliseconds(0), "skipped", "not running"});
      out << i->name << ": not running\n";
    }
    if (purge) {
      const evidence::Stopwatch watch;
      std::error_code ec;
      std::filesystem::remove_all(paths.state, ec);
      const auto removed = ec ? Status(Error(ErrorCode::io, "removing " + paths.state.string() +
                                                                ": " + ec.message()))
                              : Status();
      note({"task", "purge disks", i->name, watch.wall, watch.elapsed(), removed ? "ok" : "failed",
            removed ? paths.state.string() : removed.error().describe()});
      if (!removed)
        rc = fail(err, removed.error());
      else
        out << i->name << ": removed " << paths.state.string() << "\n";
    }
  }
  // A switch whose members have all gone down goes too.
  if (auto s = stop_unused_networks(*ctx, dry, out); !s)
    rc = fail(err, s.error());
  return rc;
}

} // namespace kvmrun::cli
