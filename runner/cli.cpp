#include "runner/cli.hpp"

#include "base/result.hpp"
#include "runner/build_info.hpp"
#include "runner/preflight.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string_view>

namespace kvmrun::runner {

namespace {

constexpr std::string_view usage_text = R"(usage: kvmrun COMMAND [OPTIONS]

Commands:
  preflight [--json] [--accel auto|kvm|tcg]
                     read-only host checks: QEMU, KVM that really boots guests,
                     firmware, free space; prints the acceleration kvmrun will use
  version            the versions of kvmrun and of the libraries inside it
  help               this text

Options:
  --json             machine-readable output
  --accel MODE       auto (default: KVM when it works, else TCG), kvm or tcg
  --version          same as 'version'

Environment:
  KVMRUN_QEMU        the qemu-system-x86_64 to use (default: found on PATH)
  KVMRUN_CACHE_DIR   image cache (default: $XDG_CACHE_HOME/kvmrun or ~/.cache/kvmrun)
  KVMRUN_STATE_DIR   instance state and evidence (default: ~/.local/state/kvmrun)

Exit codes: 0 ok, 2 usage, 3 config, 4 host, 5 image, 6 disk, 7 qemu, 8 timeout,
            9 guest, 10 io, 11 protocol, 12 busy, 70 internal error.
)";

// The options a command accepts after its name; a value-taking option is listed with true.
struct ParsedArgs {
  std::string command;
  std::map<std::string, std::string, std::less<>> options; // flag -> value ("" for switches)
  std::vector<std::string> positional;
};

Result<ParsedArgs> parse(const std::vector<std::string> &args,
                         const std::map<std::string, bool, std::less<>> &known) {
  ParsedArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
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
    const auto it = known.find(name);
    if (it == known.end())
      return Error(ErrorCode::usage, "unknown option '" + name + "'",
                   "see 'kvmrun help' for the options of each command");
    if (it->second && !value) {
      if (i + 1 >= args.size())
        return Error(ErrorCode::usage, "option '" + name + "' needs a value");
      value = args[++i];
    }
    if (!it->second && value)
      return Error(ErrorCode::usage, "option '" + name + "' takes no value");
    parsed.options[name] = value.value_or("");
  }
  return parsed;
}

int fail(std::ostream &err, const Error &error) {
  err << "kvmrun: error: " << error.describe() << '\n';
  return exit_code(error.code());
}

HostPaths host_paths(const CliEnvironment &env) {
  HostPaths paths;
  if (const char *qemu = env.getenv("KVMRUN_QEMU"); qemu != nullptr && *qemu != '\0')
    paths.qemu_program = qemu;
  if (const char *path = env.getenv("PATH"); path != nullptr)
    paths.search_path = path;
  const Dirs dirs = default_dirs(env.getenv, env.uid);
  paths.space = {{"state", dirs.state}, {"cache", dirs.cache}};
  return paths;
}

int run_preflight(const ParsedArgs &args, std::ostream &out, std::ostream &err,
                  const CliEnvironment &env) {
  if (!args.positional.empty())
    return fail(err, Error(ErrorCode::usage,
                           "preflight takes no arguments, got '" + args.positional.front() + "'"));
  Accel accel = Accel::automatic;
  if (const auto it = args.options.find("--accel"); it != args.options.end()) {
    const auto parsed = parse_accel(it->second);
    if (!parsed)
      return fail(err, Error(ErrorCode::usage, "unknown accelerator '" + it->second + "'",
                             "use auto, kvm or tcg"));
    accel = *parsed;
  }
  const PreflightReport report = evaluate_preflight(gather_host_facts(host_paths(env)), accel);
  out << (args.options.contains("--json") ? render_json(report) : render_text(report));
  return report.ok() ? 0 : exit_code(ErrorCode::host);
}

} // namespace

int run_cli(const std::vector<std::string> &args, std::ostream &out, std::ostream &err,
            const CliEnvironment &env) {
  const std::map<std::string, bool, std::less<>> known = {
      {"--json", false}, {"--accel", true}, {"--help", false}, {"--version", false}};
  auto parsed = parse(args, known);
  if (!parsed)
    return fail(err, parsed.error());
  const std::string &command = parsed->command;
  if (parsed->options.contains("--version") || command == "version") {
    out << version_report();
    return 0;
  }
  if (parsed->options.contains("--help") || command == "help") {
    out << usage_text;
    return 0;
  }
  if (command.empty()) {
    err << usage_text;
    return exit_code(ErrorCode::usage);
  }
  if (command == "preflight")
    return run_preflight(*parsed, out, err, env);
  return fail(err,
              Error(ErrorCode::usage, "unknown command '" + command + "'", "see 'kvmrun help'"));
}

} // namespace kvmrun::runner
