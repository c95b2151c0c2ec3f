// `kvmrun report [RUN-DIR] [--html FILE] [--junit FILE]`: wall time, stage totals and the slowest
// tasks of a run (or a `bench cold` directory) as text; --html writes the run's picture, --junit
// its gates as JUnit XML (cli/run_reports.hpp).
#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/run_reports.hpp"
#include "evidence/run_report.hpp"

namespace kvmrun::cli {

namespace {

Status write_output(const std::string& file, const std::string& bytes, std::ostream& out) {
  if (auto w = write_file_atomic(file, bytes, 0644, Durability::regenerated); !w)
    return std::move(w).error();
  out << "wrote " << file << "\n";
  return {};
}

} // namespace

int run_report(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env) {
  const auto run = run_dir_argument(args, env);
  if (!run)
    return fail(err, run.error());
  const auto html = args.value("--html");
  const auto junit = args.value("--junit");
  if (!html && !junit) {
    auto text = evidence::render_report(*run);
    if (!text)
      return fail(err, text.error());
    out << *text;
    return 0;
  }
  for (const auto& [file, make] : {std::pair{html, &run_html}, std::pair{junit, &run_junit}}) {
    if (!file)
      continue;
    auto bytes = make(*run);
    if (!bytes)
      return fail(err, bytes.error());
    if (auto w = write_output(*file, *bytes, out); !w)
      return fail(err, w.error());
  }
  return 0;
}

} // namespace kvmrun::cli
