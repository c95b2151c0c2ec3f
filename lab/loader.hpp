// Loading a lab definition: TOML text in, a fully validated LabSpec out, or one config error
// that lists every problem as "file:line:column: key.path: what is wrong (remedy)".
#pragma once

#include "base/result.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <string_view>

namespace kvmrun::lab {

// `source` names the text in messages (a file name). ErrorCode::config on any problem.
[[nodiscard]] Result<LabSpec> parse_lab(std::string_view text, std::string_view source);

// Reads and parses a file (ErrorCode::io when it cannot be read).
[[nodiscard]] Result<LabSpec> load_lab(const std::filesystem::path& file);

} // namespace kvmrun::lab
