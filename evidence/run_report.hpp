// `kvmrun report [DIR]`: a run's summary.json read back, checked field by field, and shown as
// wall time, stage totals and the slowest tasks; a `bench cold` directory's, with their spread
// over the runs (cold_bench.hpp). A damaged or hand-edited summary is an
// ErrorCode::io error naming the file and the field.
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string>

namespace kvmrun::evidence {

[[nodiscard]] Result<std::string> render_report(const std::filesystem::path& run_dir);

} // namespace kvmrun::evidence
