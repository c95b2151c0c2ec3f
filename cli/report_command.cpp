// `kvmrun report [RUN-DIR]`: wall time, stage totals and the slowest tasks of a run.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "evidence/run_report.hpp"

namespace kvmrun::cli {

int run_report(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env) {
  const auto run = run_dir_argument(args, env);
  if (!run)
    return fail(err, run.error());
  auto text = evidence::render_report(*run);
  if (!text)
    return fail(err, text.error());
  out << *text;
  return 0;
}

} // namespace kvmrun::cli
