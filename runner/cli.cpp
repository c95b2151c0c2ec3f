#include "runner/cli.hpp"

#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "base/result.hpp"
#include "lab/values.hpp"

#include "runner/build_info.hpp"
#include "runner/cli_args.hpp"
#include "runner/disk_command.hpp"
#include "runner/image_command.hpp"
#include "runner/lab_commands.hpp"
#include "runner/lab_source.hpp"
#include "runner/preflight.hpp"
#include "runner/qmp_command.hpp"
#include "runner/seed_command.hpp"
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace kvmrun::runner {

namespace {

constexpr std::string_view usage_text = R"(usage: kvmrun COMMAND [OPTIONS]

Lab lifecycle (the lab: --config FILE, ./kvmrun.toml, or the built-in default lab):
  up [INSTANCE...] [--stage preflight|image-cache|provision|runtime|full]
     [--accel auto|kvm|tcg] [--dry-run] [--attach]
                     bring instances up and wait until every readiness gate passed;
                     --dry-run prints what would be done (QEMU argv included);
                     --attach stays in the foreground and stops them on exit
  status [INSTANCE...] [--json]
                     state, pid, uptime, ports and provenance of running instances
  check [INSTANCE...]
                     re-run the readiness gates, read-only
  exec INSTANCE [--timeout SECONDS] -- COMMAND [ARGS...]
                     run a command in the guest (guest agent); its exit code is ours
  console INSTANCE [--follow]
                     the serial console log; --follow streams it live
  snapshot create|list|revert|delete INSTANCE [TAG]
                     internal snapshots of the instance's disks and RAM
  down [INSTANCE...] [--dry-run] [--purge-disks]
                     ACPI powerdown, then QMP quit, SIGTERM, SIGKILL (each bounded);
                     --purge-disks also removes the instance's disks (never base images)
  report [RUN-DIR]   wall time, stage totals and slowest tasks of a run (default: latest)

Tools:
  preflight [--json] [--accel auto|kvm|tcg]
                     read-only host checks: QEMU, KVM that really boots guests,
                     firmware, free space; prints the acceleration kvmrun will use
  seed INSTANCE -o FILE.iso [--print]
                     write one instance's cloud-init NoCloud seed ISO (mode 0600);
                     --print shows meta-data, user-data and network-config
  disk overlay BASE OUT [--backing-format qcow2|raw] [--size SIZE]
                     a qcow2 overlay over a base image whose header was checked first
  disk create OUT SIZE
                     a blank qcow2 disk, e.g. kvmrun disk create data.qcow2 10GiB
  disk info FILE [--format qcow2|raw] [--json]
                     header, backing chain and a safety verdict (exit 6 if unsafe)
  image fetch [NAME...]
                     download, verify (SHA-256/512) and cache the lab's base images
  image list [--json]
                     the cached images
  image verify [NAME...]
                     re-hash cached images (exit 5 if one does not match its digest)
  image prune [--all] [--dry-run]
                     remove cached images no instance disk uses (without --all, the
                     newest of each name stays)
  qmp INSTANCE|SOCKET COMMAND [JSON-ARGS] [--events]
                     one QMP command, its reply as JSON; --events then streams events
  version            the versions of kvmrun and of the libraries inside it
  help               this text

Options:
  --config FILE      the lab definition (default: ./kvmrun.toml)
  --json             machine-readable output
  --accel MODE       auto (default: KVM when it works, else TCG), kvm or tcg
  --version          same as 'version'

Environment:
  KVMRUN_QEMU        the qemu-system-x86_64 to use (default: found on PATH)
  KVMRUN_CACHE_DIR   image cache (default: $XDG_CACHE_HOME/kvmrun or ~/.cache/kvmrun)
  KVMRUN_STATE_DIR   instance state and evidence (default: ~/.local/state/kvmrun)
  KVMRUN_RUNTIME_DIR sockets and locks (default: $XDG_RUNTIME_DIR/kvmrun)

Exit codes: 0 ok, 2 usage, 3 config, 4 host, 5 image, 6 disk, 7 qemu, 8 timeout,
            9 guest, 10 io, 11 protocol, 12 busy, 70 internal error.
)";

Result<ParsedArgs> parse(const std::vector<std::string>& args,
                         const std::map<std::string, bool, std::less<>>& known) {
  ParsedArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--" && !parsed.command.empty()) {
      parsed.trailing.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if ((arg.rfind("--", 0) != 0 && arg != "-o") || arg == "--") {
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

int run_preflight(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                  const CliEnvironment& env) {
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

int run_seed(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  if (args.positional.size() != 1)
    return fail(err, Error(ErrorCode::usage, "seed takes one instance name",
                           "kvmrun seed INSTANCE -o FILE.iso"));
  const auto output = args.value("--output");
  if (!output && !args.has("--print"))
    return fail(err, Error(ErrorCode::usage, "seed needs -o FILE.iso (or --print)"));
  auto lab = resolve_lab(args, env);
  if (!lab)
    return fail(err, lab.error());
  const std::string& name = args.positional.front();
  const lab::InstanceSpec* instance = lab->find_instance(name);
  if (instance == nullptr) {
    std::string known;
    for (const auto& i : lab->instances)
      known += (known.empty() ? "" : ", ") + i.name;
    return fail(err, Error(ErrorCode::config, "no instance '" + name + "' in " + lab->source +
                                                  " (it has: " + known + ")"));
  }
  for (const auto& warning : instance->warnings)
    err << "kvmrun: warning: " << warning << '\n';
  auto seed = build_seed_image(*instance);
  if (!seed)
    return fail(err, seed.error());
  if (args.has("--print"))
    out << "# meta-data\n"
        << seed->documents.meta_data << "# user-data\n"
        << seed->documents.user_data << "# network-config\n"
        << seed->documents.network_config;
  if (output) {
    // Seeds are derived from the lab and rewritten by every run: atomic, not fsynced.
    if (auto written = write_file_atomic(*output, seed->iso, 0600, Durability::regenerated);
        !written)
      return fail(err, std::move(written).error().add_context("writing the seed ISO of " + name));
    out << "wrote " << *output << ": instance-id " << seed->documents.instance_id << ", "
        << seed->iso.size() << " bytes, sha256 " << sha256_hex(seed->iso) << '\n';
  }
  return 0;
}

std::optional<images::DiskFormat> format_option(const ParsedArgs& args, std::string_view option,
                                                std::ostream& err, int& code) {
  const auto text = args.value(option);
  if (!text)
    return images::DiskFormat::qcow2;
  const auto format = images::parse_disk_format(*text);
  if (!format)
    code = fail(
        err, Error(ErrorCode::usage, "unknown image format '" + *text + "'", "use qcow2 or raw"));
  return format;
}

int run_disk(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const auto& pos = args.positional;
  const std::string sub = pos.empty() ? "" : pos.front();
  int code = 0;
  if (sub == "overlay" && pos.size() == 3) {
    const auto format = format_option(args, "--backing-format", err, code);
    if (!format)
      return code;
    std::optional<std::uint64_t> size;
    if (const auto text = args.value("--size")) {
      size = lab::parse_size(*text);
      if (!size)
        return fail(
            err, Error(ErrorCode::usage, "'" + *text + "' is not a size", "write it like 20GiB"));
    }
    auto spec = plan_overlay(pos[1], *format, size);
    if (!spec)
      return fail(err, spec.error());
    if (auto made = images::create_qcow2(pos[2], *spec); !made)
      return fail(err, made.error());
    out << "created " << pos[2] << ": qcow2 overlay of " << spec->virtual_size << " bytes over "
        << spec->backing_file << " (" << images::to_string(*format) << ")\n";
    return 0;
  }
  if (sub == "create" && pos.size() == 3) {
    const auto size = lab::parse_size(pos[2]);
    if (!size)
      return fail(err,
                  Error(ErrorCode::usage, "'" + pos[2] + "' is not a size", "write it like 10GiB"));
    images::Qcow2Spec spec;
    spec.virtual_size = (*size + 511) / 512 * 512;
    if (auto made = images::create_qcow2(pos[1], spec); !made)
      return fail(err, made.error());
    out << "created " << pos[1] << ": blank qcow2 disk of " << spec.virtual_size << " bytes\n";
    return 0;
  }
  if (sub == "info" && pos.size() == 2) {
    const auto format = format_option(args, "--format", err, code);
    if (!format)
      return code;
    auto chain = images::inspect_chain(pos[1], *format);
    if (!chain)
      return fail(err, chain.error());
    out << (args.has("--json") ? render_chain_json(*chain) : render_chain_text(*chain));
    const bool unsafe = std::any_of(chain->begin(), chain->end(),
                                    [](const images::ImageInfo& i) { return !i.problems.empty(); });
    return unsafe ? exit_code(ErrorCode::disk) : 0;
  }
  return fail(err, Error(ErrorCode::usage, "usage: kvmrun disk overlay BASE OUT | disk create OUT "
                                           "SIZE | disk info FILE"));
}

std::string short_digest(const images::ExpectedDigest& d) {
  return std::string(to_string(d.algorithm)) + ":" + d.hex.substr(0, 16) + "...";
}

int run_image(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env) {
  const auto& pos = args.positional;
  const std::string sub = pos.empty() ? "" : pos.front();
  const std::vector<std::string> names(pos.size() > 1 ? pos.begin() + 1 : pos.end(), pos.end());
  const auto wanted = [&](const std::string& name) {
    return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
  };
  const Dirs dirs = default_dirs(env.getenv, env.uid);
  images::ImageCache cache(dirs.cache / "images");

  if (sub == "fetch") {
    auto lab = resolve_lab(args, env);
    if (!lab)
      return fail(err, lab.error());
    for (const auto& name : names)
      if (!lab->images.contains(name))
        return fail(err, Error(ErrorCode::config, "no image '" + name + "' in " + lab->source));
    for (const auto& [name, spec] : lab->images) {
      if (!wanted(name))
        continue;
      auto fetched =
          cache.fetch(image_source(spec), terminal_progress(name, env.stderr_is_terminal));
      if (!fetched)
        return fail(err, fetched.error());
      out << name << ": "
          << (fetched->downloaded ? (fetched->resumed ? "downloaded (resumed)" : "downloaded")
                                  : "cached")
          << ", " << short_digest(fetched->entry.digest) << ", " << fetched->entry.size
          << " bytes, " << fetched->entry.file.string() << "\n";
    }
    return 0;
  }
  if (sub == "list" && names.empty()) {
    const auto entries = cache.list();
    if (args.has("--json")) {
      boost::json::array list;
      for (const auto& e : entries)
        list.push_back(boost::json::object{{"name", e.name},
                                           {"digest", e.digest.label()},
                                           {"format", images::to_string(e.format)},
                                           {"size", e.size},
                                           {"file", e.file.string()},
                                           {"url", e.url},
                                           {"fetched_at", e.fetched_at}});
      out << boost::json::serialize(boost::json::object{{"images", std::move(list)}}) << "\n";
    } else {
      for (const auto& e : entries)
        out << e.name << "  " << short_digest(e.digest) << "  " << e.size << " bytes  "
            << e.file.string() << "\n";
      if (entries.empty())
        out << "no cached images in " << cache.root().string() << "\n";
    }
    return 0;
  }
  if (sub == "verify") {
    bool all_ok = true;
    for (const auto& e : cache.list()) {
      if (!wanted(e.name))
        continue;
      const auto v = cache.verify(e);
      all_ok = all_ok && v.ok;
      out << (v.ok ? "ok    " : "BAD   ") << e.name << "  " << e.file.string() << ": " << v.detail
          << "\n";
    }
    if (!all_ok)
      return fail(err, Error(ErrorCode::image, "a cached image does not match its digest",
                             "remove it and run kvmrun image fetch again"));
    return 0;
  }
  if (sub == "prune" && names.empty()) {
    const bool dry_run = args.has("--dry-run");
    auto pruned = cache.prune(bases_in_use(dirs.state), args.has("--all"), dry_run);
    if (!pruned)
      return fail(err, pruned.error());
    for (const auto& e : pruned->removed)
      out << (dry_run ? "would remove " : "removed ") << e.name << "  " << e.file.string() << "\n";
    for (const auto& e : pruned->kept_in_use)
      out << "kept (in use) " << e.name << "  " << e.file.string() << "\n";
    return 0;
  }
  return fail(err, Error(ErrorCode::usage, "usage: kvmrun image fetch [NAME...] | list | verify "
                                           "[NAME...] | prune [--all] [--dry-run]"));
}

// Which options each command accepts (besides --help and --version).
const std::map<std::string, std::set<std::string, std::less<>>, std::less<>> command_options = {
    {"preflight", {"--json", "--accel"}},
    {"seed", {"--config", "--output", "--print"}},
    {"disk", {"--backing-format", "--size", "--format", "--json"}},
    {"image", {"--config", "--json", "--all", "--dry-run"}},
    {"qmp", {"--config", "--events"}},
    {"up", {"--config", "--stage", "--accel", "--dry-run", "--attach"}},
    {"down", {"--config", "--dry-run", "--purge-disks"}},
    {"status", {"--config", "--json"}},
    {"check", {"--config"}},
    {"exec", {"--config", "--timeout"}},
    {"console", {"--config", "--follow"}},
    {"snapshot", {"--config"}},
    {"report", {"--config"}},
};

} // namespace

HostPaths host_paths(const CliEnvironment& env) {
  HostPaths paths;
  if (const char* qemu = env.getenv("KVMRUN_QEMU"); qemu != nullptr && *qemu != '\0')
    paths.qemu_program = qemu;
  if (const char* path = env.getenv("PATH"); path != nullptr)
    paths.search_path = path;
  const Dirs dirs = default_dirs(env.getenv, env.uid);
  paths.space = {{"state", dirs.state}, {"cache", dirs.cache}};
  return paths;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const CliEnvironment& env) {
  const std::map<std::string, bool, std::less<>> known = {
      {"--json", false},   {"--accel", true},  {"--help", false},   {"--version", false},
      {"--config", true},  {"--output", true}, {"--print", false},  {"--backing-format", true},
      {"--size", true},    {"--format", true}, {"--all", false},    {"--dry-run", false},
      {"--events", false}, {"--stage", true},  {"--attach", false}, {"--purge-disks", false},
      {"--follow", false}, {"--timeout", true}};
  auto parsed = parse(args, known);
  if (!parsed)
    return fail(err, parsed.error());
  const std::string& command = parsed->command;
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
  const auto allowed = command_options.find(command);
  if (allowed == command_options.end())
    return fail(err,
                Error(ErrorCode::usage, "unknown command '" + command + "'", "see 'kvmrun help'"));
  for (const auto& [option, value] : parsed->options)
    if (!allowed->second.contains(option))
      return fail(err, Error(ErrorCode::usage, "'" + command + "' does not take " + option,
                             "see 'kvmrun help'"));
  if (command == "preflight")
    return run_preflight(*parsed, out, err, env);
  if (command == "seed")
    return run_seed(*parsed, out, err, env);
  if (command == "disk")
    return run_disk(*parsed, out, err);
  if (command == "image")
    return run_image(*parsed, out, err, env);
  if (command == "qmp")
    return run_qmp_command(*parsed, out, err, env);
  using Command = int (*)(const ParsedArgs&, std::ostream&, std::ostream&, const CliEnvironment&);
  static const std::map<std::string, Command, std::less<>> lifecycle = {{"up", run_up},
                                                                        {"down", run_down},
                                                                        {"status", run_status},
                                                                        {"check", run_check},
                                                                        {"exec", run_exec},
                                                                        {"console", run_console},
                                                                        {"snapshot", run_snapshot},
                                                                        {"report", run_report}};
  if (const auto it = lifecycle.find(command); it != lifecycle.end())
    return it->second(*parsed, out, err, env);
  return fail(err,
              Error(ErrorCode::usage, "unknown command '" + command + "'", "see 'kvmrun help'"));
}

} // namespace kvmrun::runner
