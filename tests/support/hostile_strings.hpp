// Strings built to break naive YAML: indicators, quotes, line breaks of every kind, YAML 1.1
// booleans and numbers, control characters, non-ASCII and non-BMP text. Deterministic.
#pragma once

#include <string>
#include <vector>

namespace kvmrun::testing {

[[nodiscard]] std::vector<std::string> hostile_strings(std::size_t count, unsigned seed = 1);

} // namespace kvmrun::testing
