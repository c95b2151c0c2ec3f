// `kvmrun preflight [--json] [--accel MODE]`: read-only host checks and the accelerator choice.
#include "cli/commands.hpp"
#include "cli/views.hpp"
#include "host/preflight.hpp"

namespace kvmrun::cli {

int run_preflight(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                  const CliEnvironment& env) {
  if (!args.positional.empty())
    return fail(err, Error(ErrorCode::usage,
                           "preflight takes no arguments, got '" + args.positional.front() + "'"));
  const auto accel = accel_option(args);
  if (!accel)
    return fail(err, accel.error());
  const host::PreflightReport report =
      host::evaluate_preflight(host::gather_host_facts(host_paths(env)), *accel);
  out << (args.has("--json") ? render_json(report) : render_text(report));
  return report.ok() ? 0 : exit_code(ErrorCode::host);
}

} // namespace kvmrun::cli
