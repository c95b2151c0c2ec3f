#include "cli/run_reports.hpp"

#include "base/file_io.hpp"
#include "base/printable_text.hpp"
#include "evidence/html_report.hpp"
#include "evidence/junit_report.hpp"
#include "evidence/run_records.hpp"
#include "evidence/run_report.hpp"
#include "readiness/gates.hpp"

#include <unistd.h>

namespace kvmrun::cli {

namespace {

// The lab a run belongs to: <evidence>/<lab>/runs/<run>.
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

} // namespace

Result<std::string> run_html(const std::filesystem::path& run) {
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

Result<std::string> run_junit(const std::filesystem::path& run) {
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

} // namespace kvmrun::cli
