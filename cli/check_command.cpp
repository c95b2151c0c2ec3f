// `kvmrun check [INSTANCE...] [--json]`: the readiness gates again, read-only, against running
// instances (gate_table()'s order, in recheck mode).
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/lab_networks.hpp"
#include "cli/recheck.hpp"
#include "cli/views.hpp"
#include "instance/qemu_process.hpp"
#include "readiness/gates.hpp"

namespace kvmrun::cli {

namespace {

int check_lab(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env, evidence::EventStream* stream) {
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  if (auto s = give_lab_key(*ctx, false); !s)
    return fail(err, s.error());
  if (auto t = apply_templates(*ctx); !t)
    return fail(err, t.error());
  int rc = 0;
  for (const auto* i : ctx->selected) {
    const auto paths = ctx->paths(*i);
    if (!instance::running_pid(paths, ctx->lab.name, i->name)) {
      rc = fail(err, not_running(*i));
      continue;
    }
    auto target = recheck_target(*ctx, *i, peers_of(*ctx, *i, [&](const lab::InstanceSpec& m) {
      return instance::running_pid(ctx->paths(m), ctx->lab.name, m.name).has_value();
    }));
    if (!target) {
      rc = fail(err, target.error());
      continue;
    }
    auto s = readiness::run_gates(
        *target, readiness::GateMode::recheck,
        [&](const readiness::GateOutcome& o) {
          if (stream != nullptr)
            stream->end(gate_record(o));
          out << gate_line(o) << "\n" << std::flush;
        },
        [&](std::string_view gate) {
          if (stream != nullptr)
            stream->start("gate", std::string(gate), i->name);
        });
    if (!s)
      rc = fail(err, s.error());
  }
  return rc;
}

} // namespace

int run_check(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env) {
  return run_streamed(args, out, err,
                      [&](std::ostream& human, evidence::EventStream* stream, std::string&) {
                        return check_lab(args, human, err, env, stream);
                      });
}

} // namespace kvmrun::cli
