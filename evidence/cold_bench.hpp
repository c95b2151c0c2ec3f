// `kvmrun bench cold`'s artefacts: several cold runs of one lab (its instances' state removed,
// `up` to every gate passed, then `down`) summed up as time.txt (one row per run, then min,
// median and max) and summary.json (spreads per stage, gate and instance), which
// `kvmrun report` reads back, checked field by field.
#pragma once

#include "base/json_record.hpp"
#include "base/result.hpp"
#include "evidence/process_usage.hpp"
#include "evidence/run_evidence.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kvmrun::evidence {

struct Spread {
  std::int64_t min = 0;
  std::int64_t median = 0; // the mean of the middle two for an even count
  std::int64_t max = 0;
};
[[nodiscard]] Spread spread_of(std::vector<std::int64_t> samples);
// The Spread fields of `record.object(key)`, and every named spread of it (in the file's order):
// an io error naming the file and field otherwise.
[[nodiscard]] Result<Spread> read_spread(const JsonRecord& record, std::string_view key);
[[nodiscard]] Result<std::vector<std::pair<std::string, Spread>>>
read_spreads(const JsonRecord& record, std::string_view key);

struct ColdRun {
  int number = 0;
  std::string outcome; // "ok" or "failed"
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds up{0}; // to every gate passed
  std::chrono::milliseconds down{0};
  Usage kvmrun; // the process running `up`
  Usage qemu;   // every instance's QEMU once all gates had passed, summed
  std::vector<TimingEvent> events;
};

struct ColdBench {
  std::string lab;
  std::vector<std::string> instances;
  std::string command; // as typed, for the record
  std::string machine; // CPUs, kernel, QEMU, accelerator
  int planned = 0;
  std::vector<ColdRun> runs;
};

// The kind summary.json says for a bench directory (a run's summary has no kind).
inline constexpr std::string_view cold_bench_kind = "bench-cold";

[[nodiscard]] std::string cold_time_text(const ColdBench& bench);
[[nodiscard]] boost::json::object cold_summary(const ColdBench& bench);
// The report of a bench directory's summary.json (`summary`), every field checked.
[[nodiscard]] Result<std::string> render_cold_report(const JsonRecord& summary);

} // namespace kvmrun::evidence
