#include "evidence/run_report.hpp"

#include "base/json_record.hpp"
#include "evidence/cold_bench.hpp"
#include "evidence/report_text.hpp"
#include "evidence/stopwatch.hpp"

#include <algorithm>
#include <sstream>

namespace kvmrun::evidence {

namespace {

std::string ms_text(std::int64_t ms) { return seconds_text(std::chrono::milliseconds(ms)); }

} // namespace

Result<SummaryFile> load_summary(const std::filesystem::path& dir) {
  const auto file = dir / "summary.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return Error(ErrorCode::io, "no summary.json in " + dir.string(),
                 "pass a run directory (kvmrun up prints it), or run `kvmrun up` first");
  auto summary = JsonRecord::load(file);
  if (!summary)
    return std::move(summary).error();
  if (!summary->has("kind"))
    return SummaryFile{std::move(summary).value(), false};
  auto kind = summary->string("kind");
  if (!kind)
    return std::move(kind).error();
  if (*kind != cold_bench_kind)
    return Error(ErrorCode::io,
                 file.string() + ": field \"kind\" is '" + *kind + "', which kvmrun does not know",
                 "pass a run directory or a `kvmrun bench cold` directory");
  return SummaryFile{std::move(summary).value(), true};
}

Result<std::string> render_report(const std::filesystem::path& run_dir) {
  auto loaded = load_summary(run_dir);
  if (!loaded)
    return std::move(loaded).error();
  if (loaded->bench)
    return render_cold_report(loaded->record);
  const auto* summary = &loaded->record;
  auto command = summary->string("command");
  auto outcome = summary->string("outcome");
  auto wall = summary->integer("wall_ms");
  auto stages = summary->object("stage_ms");
  auto slowest = summary->objects("slowest");
  if (auto e = first_error(command, outcome, wall, stages, slowest))
    return *e;

  std::ostringstream out;
  std::error_code canon_ec;
  const auto real = std::filesystem::canonical(run_dir, canon_ec);
  out << "run " << (canon_ec ? run_dir : real).filename().string() << ": " << *command << ", "
      << *outcome << ", wall time " << ms_text(*wall) << "\n";
  out << "stages:\n";
  for (const auto& [name, value] : stages->fields()) {
    auto ms = stages->integer(name);
    if (!ms)
      return std::move(ms).error();
    out << "  " << padded(std::string(name), 14) << ms_text(*ms) << "\n";
  }
  out << "slowest:\n";
  for (const auto& event : *slowest) {
    auto what = event_label(event);
    auto took = event.integer("duration_ms");
    auto result = event.string("outcome");
    if (auto e = first_error(what, took, result))
      return *e;
    out << "  " << padded(*what, 32) << ms_text(*took) << "  " << *result << "\n";
  }
  return out.str();
}

} // namespace kvmrun::evidence
