// `kvmrun report [RUN-DIR] [--html FILE] [--junit FILE]`: wall time, stage totals and the slowest
// tasks of a run (or a `bench cold` directory) as text; --html writes the run's picture
// (evidence/html_report.hpp), --junit its gates as JUnit XML (evidence/junit_report.hpp).
#include "base/file_io.hpp"
#include "base/printable_text.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "evidence/html_report.hpp"
#include "evidence/junit_report.hpp"
#include "evidence/run_records.hpp"
#include "evidence/run_report.hpp"
#include "readiness/gates.hpp"

#include <unistd.h>

namespace kvmrun::cli {

namespace {

// The lab a run belongs to: <state>/<lab>/runs/<run>.
std::string lab_of(const std::filesystem::path& run) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(run, ec);
  return (ec ? run : real).parent_path().parent_path().filename().string();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
    return "localhost";
  return name;
}

Status write_output(const std::string& file, const std::string& bytes, std::ostream& out) {
  if (auto w = write_file_atomic(file, bytes, 0644, Durability::regenerated); !w)
    return std::move(w).error();
  out << "wrote " << file << "\n";
  return {};
}

Result<std::string> html_of(const std::filesystem::path& run) {
  auto summary = evidence::load_summary(run);
  if (!summary)
    return std::move(summary).error();
  if (summary->bench)
    return evidence::render_cold_html(summary->record);
  auto records = evidence::read_run_records(run);
  if (!records)
    return std::move(records).error();
  return evidence::render_run_html(*records, lab_of(run));
}

Result<std::string> junit_of(const std::filesystem::path& run) {
  auto summary = evidence::load_summary(run);
  if (!summary)
    return std::move(summary).error();
  if (summary->bench)
    return Error(ErrorCode::config,
                 run.string() + " is a `bench cold` directory, which has no single run's gates",
                 "pass one run's directory: `kvmrun report --junit FILE RUN-DIR`");
  auto records = evidence::read_run_records(run);
  if (!records)
    return std::move(records).error();
  evidence::JunitInput in{lab_of(run), host_name(), readiness::gate_names(), {}};
  for (const auto& name : evidence::instances_of(*records))
    if (auto log = read_file(run / name / "serial.log", 64U << 20U))
      in.serial_tail[name] = printable_tail(*log, 30);
  return evidence::render_junit(*records, in);
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
  for (const auto& [file, make] : {std::pair{html, &html_of}, std::pair{junit, &junit_of}}) {
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
