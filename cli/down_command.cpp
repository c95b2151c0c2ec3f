// `kvmrun down [INSTANCE...] [--dry-run] [--purge-disks]`: the stop ladder for each running
// instance, then (opt-in) its state directory. Nothing is removed while a process kvmrun cannot
// match to the instance holds its lock.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/lab_networks.hpp"
#include "instance/qemu_process.hpp"

namespace kvmrun::cli {

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
    const auto live = instance::probe_instance(paths, ctx->lab.name, i->name);
    if (live.state == instance::Liveness::State::foreign) {
      rc = fail(err, instance::held_by_another(i->name, live));
      continue;
    }
    std::optional<pid_t> pid;
    if (live.state == instance::Liveness::State::running)
      pid = live.pid;
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
      auto stopped =
          instance::stop_instance(paths, ctx->lab.name, *i, *pid, [&](const std::string& step) {
            out << i->name << ": " << step << "\n" << std::flush;
          });
      if (!stopped) {
        rc = fail(err, stopped.error());
        continue;
      }
      out << i->name << ": " << instance::stopped_text(*stopped) << "\n";
    } else {
      if (auto removed = instance::remove_runtime_files(paths, i->name); !removed) {
        rc = fail(err, removed.error());
        continue;
      }
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
  // A switch whose members have all gone down goes too.
  if (auto s = stop_unused_networks(*ctx, dry, out); !s)
    rc = fail(err, s.error());
  return rc;
}

} // namespace kvmrun::cli
