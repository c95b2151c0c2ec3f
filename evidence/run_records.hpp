// A finished run read back from its evidence directory (run_evidence.hpp): summary.json's
// command, outcome, start and wall time, and every timings.jsonl record, in order, each field
// checked. What metrics, `report --html` and `report --junit` are built from. A damaged line or
// field is ErrorCode::io naming the file, the line and the field.
#pragma once

#include "base/result.hpp"
#include "evidence/run_evidence.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::evidence {

struct RunRecords {
  std::string id; // the directory's own name (runs/latest resolved)
  std::string command;
  std::string outcome; // "ok" or "failed"
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds wall{0};
  std::vector<TimingEvent> events;
};

[[nodiscard]] Result<RunRecords> read_run_records(const std::filesystem::path& run_dir);

// The instances that have records, in the order they first appear.
[[nodiscard]] std::vector<std::string> instances_of(const RunRecords& run);

} // namespace kvmrun::evidence
