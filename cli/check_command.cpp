// `kvmrun check [INSTANCE...] [--json]`: the readiness gates again, read-only, against running
// instances (gate_table()'s order, in recheck mode).
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/lab_networks.hpp"
#include "cli/views.hpp"
#include "instance/provenance.hpp"
#include "instance/qemu_process.hpp"
#include "instance/runtime_forwards.hpp"
#include "instance/seed_image.hpp"
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
    // The instance-id the lab gives now, which the running guest must have.
    auto seed = instance::build_seed_image(*i);
    if (!seed) {
      rc = fail(err, std::move(seed).error().add_context("working out the instance-id of " +
                                                         i->name + " from the lab"));
      continue;
    }
    readiness::GateTarget target{
        ctx->lab.name,
        *i,
        paths,
        false,
        std::chrono::seconds(60),
        {},
        peers_of(*ctx, *i,
                 [&](const lab::InstanceSpec& m) {
                   return instance::running_pid(ctx->paths(m), ctx->lab.name, m.name).has_value();
                 }),
        0,
        std::nullopt};
    target.provenance.instance_id = seed->documents.instance_id;
    // A clone restored from a template booted there: its gates know it from its record.
    if (auto recorded = instance::read_provenance(paths.provenance());
        recorded && !recorded->template_name.empty())
      target.clone = readiness::CloneOrigin{recorded->template_name, recorded->template_instance_id,
                                            i->seed.hostname, i->on_clone};
    // Forwards added while it runs are served too (the ports gate probes them).
    auto forwards = instance::current_forwards(*i, paths);
    if (!forwards) {
      rc = fail(err, std::move(forwards).error().add_context("checking " + i->name));
      continue;
    }
    target.instance.forwards = std::move(forwards).value();
    auto s = readiness::run_gates(
        target, readiness::GateMode::recheck,
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
