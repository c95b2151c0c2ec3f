// Parses YAML with PyYAML's safe_load, the parser cloud-init itself uses, and returns the result
// as JSON, so tests compare what cloud-init would see with what was meant.
#pragma once

#include "base/result.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace kvmrun::testing {

// The python3 that has PyYAML, or nullopt (the test should skip).
[[nodiscard]] std::optional<std::string> python_with_yaml();

// safe_load of `yaml_text` (after an optional "#cloud-config" line), as JSON.
[[nodiscard]] Result<boost::json::value> pyyaml_load(const std::string& yaml_text);

} // namespace kvmrun::testing
