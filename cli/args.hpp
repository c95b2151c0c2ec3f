// The parsed command line, how it is parsed, and how commands report errors.
#pragma once

#include "base/error.hpp"
#include "base/result.hpp"
#include "host/preflight.hpp"

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::cli {

// The command, its options (flag -> value, "" for switches) and the positional arguments.
struct ParsedArgs {
  std::string command;
  std::map<std::string, std::string, std::less<>> options;
  std::vector<std::string> positional;
  std::vector<std::string> trailing; // everything after "--", untouched (exec's command)

  std::map<std::string, std::vector<std::string>, std::less<>> all_values; // each given, in order

  [[nodiscard]] bool has(std::string_view option) const { return options.contains(option); }
  // Every value of an option that may be given more than once (--env A=1 --env B=2).
  [[nodiscard]] std::vector<std::string> values(std::string_view option) const {
    const auto it = all_values.find(option);
    return it == all_values.end() ? std::vector<std::string>{} : it->second;
  }
  [[nodiscard]] std::optional<std::string> value(std::string_view option) const {
    const auto it = options.find(option);
    return it == options.end() ? std::nullopt : std::optional(it->second);
  }
};

struct OptionSpec {
  std::string_view name; // "--config"; "-o" is a short form of "--output", "-r" of "--recursive"
  bool takes_value = false;
};

// Splits `args` (without the program name) into a ParsedArgs. Options are looked up in
// `options`: an unknown one, a missing value or a value given to a switch is a usage error.
[[nodiscard]] Result<ParsedArgs> parse_args(const std::vector<std::string>& args,
                                            std::span<const OptionSpec> options);

// --accel auto|kvm|tcg (auto when absent); a usage error naming the choices otherwise.
[[nodiscard]] Result<host::Accel> accel_option(const ParsedArgs& args);

// Prints "kvmrun: error: ..." and returns the error class's exit code.
inline int fail(std::ostream& err, const Error& error) {
  err << "kvmrun: error: " << error.describe() << '\n';
  return exit_code(error.code());
}

} // namespace kvmrun::cli
