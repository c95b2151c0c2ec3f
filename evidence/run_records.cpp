#include "evidence/run_records.hpp"

#include "base/file_io.hpp"
#include "base/json_record.hpp"
#include "evidence/stopwatch.hpp"

#include <algorithm>
#include <sstream>

namespace kvmrun::evidence {

namespace {

// Longer than any run takes (ten years): a duration past it is damage, and would overflow the
// clock's arithmetic.
constexpr std::int64_t longest_ms = 10LL * 366 * 24 * 3600 * 1000;

} // namespace

Result<RunRecords> read_run_records(const std::filesystem::path& run_dir) {
  auto summary = JsonRecord::load(run_dir / "summary.json");
  if (!summary)
    return std::move(summary).error();
  auto command = summary->string("command");
  auto outcome = summary->string("outcome");
  auto started = summary->string("started");
  auto wall = summary->integer("wall_ms");
  if (auto e = first_error(command, outcome, started, wall))
    return *e;
  RunRecords run;
  std::error_code ec;
  const auto real = std::filesystem::canonical(run_dir, ec);
  run.id = (ec ? run_dir : real).filename().string();
  run.command = *command;
  run.outcome = *outcome;
  if (*wall < 0 || *wall > longest_ms)
    return summary->bad("wall_ms", "is not a duration: " + std::to_string(*wall) + " ms");
  run.wall = std::chrono::milliseconds(*wall);
  const auto start = parse_iso_time(*started);
  if (!start)
    return summary->bad("started", "is not a time: '" + *started + "'");
  run.started = *start;

  const auto file = run_dir / "timings.jsonl";
  auto text = read_file(file, 64U << 20U);
  if (!text)
    return std::move(text).error();
  std::istringstream lines(*text);
  std::size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty())
      continue;
    auto record = JsonRecord::parse(line, file.string() + ":" + std::to_string(number));
    if (!record)
      return std::move(record).error();
    auto kind = record->string("kind"), name = record->string("name"),
         instance = record->string("instance"), from = record->string("start"),
         result = record->string("outcome"), detail = record->string("detail");
    auto ms = record->integer("duration_ms");
    if (auto e = first_error(kind, name, instance, from, result, detail, ms))
      return *e;
    if (*ms < 0 || *ms > longest_ms)
      return record->bad("duration_ms", "is not a duration: " + std::to_string(*ms) + " ms");
    const auto at = parse_iso_time(*from);
    if (!at)
      return record->bad("start", "is not a time: '" + *from + "'");
    run.events.push_back(TimingEvent{*kind, *name, *instance, *at, std::chrono::milliseconds(*ms),
                                     *result, *detail});
  }
  return run;
}

std::vector<std::string> instances_of(const RunRecords& run) {
  std::vector<std::string> names;
  for (const auto& e : run.events)
    if (!e.instance.empty() && std::find(names.begin(), names.end(), e.instance) == names.end())
      names.push_back(e.instance);
  return names;
}

} // namespace kvmrun::evidence
