// `kvmrun metrics [INSTANCE...] [--textfile DIR]`: the lab's running instances and its last run
// in Prometheus's text exposition format (metrics/), on standard output or written atomically as
// DIR/kvmrun_<lab>.prom for node_exporter's textfile collector.
#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "host/host_facts.hpp"
#include "metrics/collect.hpp"
#include "templates/record.hpp"

namespace kvmrun::cli {

int run_metrics(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                const CliEnvironment& env) {
  auto ctx = open_lab(args, env, args.positional);
  if (!ctx)
    return fail(err, ctx.error());
  metrics::LabTarget target;
  target.lab = ctx->lab.name;
  target.lab_evidence = ctx->lab_evidence();
  target.kvmrun_version = std::string(kvmrun_version());
  target.qemu_version =
      templates::qemu_version_of(host::gather_host_facts(host_paths(env)).qemu.version_line);
  for (const auto* i : ctx->selected)
    target.instances.emplace_back(i, ctx->paths(*i));
  const std::string text = metrics::render(metrics::collect(target));
  const auto dir = args.value("--textfile");
  if (!dir) {
    out << text;
    return 0;
  }
  // node_exporter reads every *.prom in the directory: the file appears whole or not at all.
  const auto file = std::filesystem::path(*dir) / ("kvmrun_" + ctx->lab.name + ".prom");
  if (auto w = write_file_atomic(file, text, 0644, Durability::regenerated); !w)
    return fail(err, std::move(w).error().add_context("writing the metrics textfile"));
  return 0;
}

} // namespace kvmrun::cli
