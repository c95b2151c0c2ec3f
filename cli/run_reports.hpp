// A run's evidence drawn as a report file: one self-contained HTML page (evidence/html_report)
// or JUnit XML (evidence/junit_report) of a run directory, <evidence>/<lab>/runs/<run>. `report
// --html/--junit` write them where they are asked to; `up` writes each run's junit.xml itself.
#pragma once

#include "base/result.hpp"

#include <filesystem>
#include <string>

namespace kvmrun::cli {

// The run's page, or a `bench cold` directory's spreads.
[[nodiscard]] Result<std::string> run_html(const std::filesystem::path& run);

// The run's gates as JUnit XML, with the last lines of each instance's serial console in a
// failed gate's <failure>. ErrorCode::config for a `bench cold` directory (no single run).
[[nodiscard]] Result<std::string> run_junit(const std::filesystem::path& run);

} // namespace kvmrun::cli
