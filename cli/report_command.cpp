// `kvmrun report [RUN-DIR]`: wall time, stage totals and the slowest tasks of a run.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "evidence/run_report.hpp"

namespace kvmrun::cli {

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
  auto text = evidence::render_report(run);
  if (!text)
    return fail(err, text.error());
  out << *text;
  return 0;
}

} // namespace kvmrun::cli
