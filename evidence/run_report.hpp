// `kvmrun report [DIR]`: a run's summary.json read back, checked field by field, and shown as
// wall time, stage totals and the slowest tasks; a `bench cold` directory's, with their spread
// over the runs (cold_bench.hpp). A damaged or hand-edited summary is an
// ErrorCode::io error naming the file and the field.
#pragma once

#include "base/json_record.hpp"
#include "base/result.hpp"

#include <filesystem>
#include <string>

namespace kvmrun::evidence {

[[nodiscard]] Result<std::string> render_report(const std::filesystem::path& run_dir);

// A run's or a `bench cold` directory's summary.json (a bench's kind checked); ErrorCode::io
// when `dir` has no summary.json or it cannot be read.
struct SummaryFile {
  JsonRecord record;
  bool bench = false;
};
[[nodiscard]] Result<SummaryFile> load_summary(const std::filesystem::path& dir);

} // namespace kvmrun::evidence
