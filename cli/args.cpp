#include "cli/args.hpp"

#include <algorithm>

namespace kvmrun::cli {

Result<ParsedArgs> parse_args(const std::vector<std::string>& args,
                              std::span<const OptionSpec> options) {
  ParsedArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--" && !parsed.command.empty()) {
      parsed.trailing.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if ((arg.rfind("--", 0) != 0 && arg != "-o" && arg != "-r") || arg == "--") {
      if (parsed.command.empty())
        parsed.command = arg;
      else
        parsed.positional.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "-o")
      name = "--output";
    if (name == "-r")
      name = "--recursive";
    const auto it = std::find_if(options.begin(), options.end(),
                                 [&](const OptionSpec& o) { return o.name == name; });
    if (it == options.end())
      return Error(ErrorCode::usage, "unknown option '" + name + "'",
                   "see 'kvmrun help' for the options of each command");
    if (it->takes_value && !value) {
      if (i + 1 >= args.size())
        return Error(ErrorCode::usage, "option '" + name + "' needs a value");
      value = args[++i];
    }
    if (!it->takes_value && value)
      return Error(ErrorCode::usage, "option '" + name + "' takes no value");
    parsed.options[name] = value.value_or("");
    parsed.all_values[name].push_back(value.value_or(""));
  }
  return parsed;
}

Result<host::Accel> accel_option(const ParsedArgs& args) {
  const auto text = args.value("--accel");
  if (!text)
    return host::Accel::automatic;
  const auto accel = host::parse_accel(*text);
  if (!accel)
    return Error(ErrorCode::usage, "unknown accelerator '" + *text + "'", "use auto, kvm or tcg");
  return *accel;
}

} // namespace kvmrun::cli
