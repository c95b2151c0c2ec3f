// The parsed command line shared by the command implementations, and how they report errors.
#pragma once

#include "base/error.hpp"

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::runner {

// The command, its options (flag -> value, "" for switches) and the positional arguments.
struct ParsedArgs {
  std::string command;
  std::map<std::string, std::string, std::less<>> options;
  std::vector<std::string> positional;
  std::vector<std::string> trailing; // everything after "--", untouched (exec's command)

  [[nodiscard]] bool has(std::string_view option) const { return options.contains(option); }
  [[nodiscard]] std::optional<std::string> value(std::string_view option) const {
    const auto it = options.find(option);
    return it == options.end() ? std::nullopt : std::optional(it->second);
  }
};

// Prints "kvmrun: error: ..." and returns the error class's exit code.
inline int fail(std::ostream& err, const Error& error) {
  err << "kvmrun: error: " << error.describe() << '\n';
  return exit_code(error.code());
}

} // namespace kvmrun::runner
