#include "cli/cli.hpp"

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "host/dirs.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <string_view>
#include <vector>

namespace kvmrun::cli {

namespace {

// Every option kvmrun knows; each command accepts the ones its table row lists.
constexpr auto option_table = std::to_array<OptionSpec>({
    {"--json", false},         {"--accel", true},
    {"--help", false},         {"--version", false},
    {"--config", true},        {"--output", true},
    {"--print", false},        {"--backing-format", true},
    {"--size", true},          {"--format", true},
    {"--all", false},          {"--dry-run", false},
    {"--events", false},       {"--stage", true},
    {"--attach", false},       {"--purge-disks", false},
    {"--follow", false},       {"--timeout", true},
    {"--runs", true},          {"--env", true},
    {"--recursive", false},    {"--public", false},
    {"--user", true},          {"--reset-host-key", false},
    {"--verify", false},       {"--resume", false},
    {"--from-template", true}, {"--textfile", true},
    {"--html", true},          {"--junit", true},
});

enum class Section { lifecycle, tools, internal }; // internal: not in `kvmrun help`

struct Command {
  std::string_view name;
  Section section;
  std::vector<std::string_view> options; // besides --help and --version
  std::string_view help;                 // its lines in `kvmrun help`
  CommandFn* run;
};

int run_help(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env);

// The one list of commands: dispatch, accepted options and `kvmrun help` all follow it.
const auto command_table = std::to_array<Command>({
    {"up",
     Section::lifecycle,
     {"--config", "--stage", "--accel", "--dry-run", "--attach", "--verify", "--from-template",
      "--json"},
     R"(  up [INSTANCE...] [--stage preflight|image-cache|provision|runtime|full]
     [--accel auto|kvm|tcg] [--dry-run] [--attach] [--verify] [--from-template NAME] [--json]
     [-- COMMAND [ARGS...]]
                     bring instances up and wait until every readiness gate passed;
                     --dry-run prints what would be done (QEMU argv included);
                     --attach stays in the foreground and stops them on exit;
                     -- COMMAND runs attached: once they are ready, COMMAND runs here
                     (KVMRUN_CONFIG and KVMRUN_RUN_DIR set), then they are stopped and
                     its exit status is kvmrun's;
                     --verify hashes cached base images (and templates) in full;
                     --from-template restores the instances as clones of template NAME;
                     --json streams the run's events on stdout (kvmrun.events/1), one
                     JSON object per line, and the human output on stderr
)",
     &run_up},
    {"status",
     Section::lifecycle,
     {"--config", "--json"},
     R"(  status [INSTANCE...] [--json]
                     state, pid, uptime, ports and provenance of running instances
)",
     &run_status},
    {"check",
     Section::lifecycle,
     {"--config", "--json"},
     R"(  check [INSTANCE...] [--json]
                     re-run the readiness gates, read-only; --json streams them as up does
)",
     &run_check},
    {"exec",
     Section::lifecycle,
     {"--config", "--timeout", "--env"},
     R"(  exec INSTANCE [--timeout SECONDS] [--env K=V]... -- COMMAND [ARGS...]
                     run a command in the guest (guest agent); its exit code is ours;
                     standard input goes to it unless it is a terminal (8 MiB at most)
)",
     &run_exec},
    {"ssh",
     Section::lifecycle,
     {"--config", "--user", "--print", "--reset-host-key"},
     R"(  ssh INSTANCE [--user USER] [--print] [--reset-host-key] [-- COMMAND...]
                     log in (or run COMMAND) with the system ssh client and the lab's key,
                     host keys read through the guest agent and checked strictly; --print
                     shows the command line; its exit code is ssh's
)",
     &run_ssh},
    {"cp",
     Section::lifecycle,
     {"--config", "--recursive"},
     R"(  cp [-r] SRC... DST  files between this host and an instance (INSTANCE:/PATH on one
                     side) through the guest agent: SHA-256 checked, modes kept, nothing
                     half-written left under the target's name; -r for directories
)",
     &run_cp},
    {"forward",
     Section::lifecycle,
     {"--config", "--public"},
     R"(  forward add|remove|list INSTANCE [[HOST:]PORT:GUEST_PORT[/udp]] [--public]
                     change a running instance's port forwards without restarting it
                     (127.0.0.1 unless --public); status and check know them
)",
     &run_forward},
    {"console",
     Section::lifecycle,
     {"--config", "--follow"},
     R"(  console INSTANCE [--follow]
                     the serial console log; --follow streams it live
)",
     &run_console},
    {"snapshot",
     Section::lifecycle,
     {"--config"},
     R"(  snapshot create|list|revert|delete INSTANCE [TAG]
                     internal snapshots of the instance's disks and RAM
)",
     &run_snapshot},
    {"template",
     Section::lifecycle,
     {"--config", "--resume", "--json"},
     R"(  template save INSTANCE NAME [--resume] | list [--json] | delete NAME
                     save a ready instance's RAM, devices and disks as a template (it is
                     stopped, or runs on with --resume); instances with template = "NAME"
                     start from it as clones in under a second; delete refuses while
                     clones use it
)",
     &run_template},
    {"events",
     Section::lifecycle,
     {"--config", "--follow"},
     R"(  events [RUN-DIR] [--follow]
                     a run's events (default: the latest) in up --json's schema, from its
                     evidence; --follow waits for a run in progress until it ends
)",
     &run_events},
    {"metrics",
     Section::lifecycle,
     {"--config", "--textfile"},
     R"(  metrics [INSTANCE...] [--textfile DIR]
                     Prometheus metrics of the running instances (QEMU CPU and memory, disk
                     and network counters, guest clock offset) and of the last run; with
                     --textfile, written atomically as DIR/kvmrun_<lab>.prom
)",
     &run_metrics},
    {"down",
     Section::lifecycle,
     {"--config", "--dry-run", "--purge-disks", "--json"},
     R"(  down [INSTANCE...] [--dry-run] [--purge-disks] [--json]
                     ACPI powerdown, then QMP quit, SIGTERM, SIGKILL (each bounded);
                     --purge-disks also removes the instance's disks (never base images);
                     --json streams each stop as up --json does
)",
     &run_down},
    {"report",
     Section::lifecycle,
     {"--config", "--html", "--junit"},
     R"(  report [DIR] [--html FILE] [--junit FILE]
                     wall time, stage totals and slowest tasks of a run (default: the
                     latest) or, with their spread, of a `bench cold` directory; --html
                     writes it as one self-contained page with a timeline, --junit as JUnit
                     XML (a test suite per instance, a test case per gate)
)",
     &run_report},
    {"bench",
     Section::lifecycle,
     {"--config", "--runs", "--accel", "--json"},
     R"(  bench cold [INSTANCE...] [--runs N] [--accel auto|kvm|tcg] [--json]
                     N cold runs (default 3): the instances' disks removed (never the
                     image cache), up to every gate passed, down; apt update off;
                     time.txt, timings and min/median/max in <state>/<lab>/bench/;
                     --json streams every run's up and down records as up --json does
)",
     &run_bench},
    {"preflight",
     Section::tools,
     {"--json", "--accel"},
     R"(  preflight [--json] [--accel auto|kvm|tcg]
                     read-only host checks: QEMU, KVM that really boots guests,
                     firmware, free space; prints the acceleration kvmrun will use
)",
     &run_preflight},
    {"seed",
     Section::tools,
     {"--config", "--output", "--print"},
     R"(  seed INSTANCE -o FILE.iso [--print]
                     write one instance's cloud-init NoCloud seed ISO (mode 0600);
                     --print shows meta-data, user-data and network-config
)",
     &run_seed},
    {"disk",
     Section::tools,
     {"--backing-format", "--size", "--format", "--json"},
     R"(  disk overlay BASE OUT [--backing-format qcow2|raw] [--size SIZE]
                     a qcow2 overlay over a base image whose header was checked first
  disk create OUT SIZE
                     a blank qcow2 disk, e.g. kvmrun disk create data.qcow2 10GiB
  disk info FILE [--format qcow2|raw] [--json]
                     header, backing chain and a safety verdict (exit 6 if unsafe)
)",
     &run_disk},
    {"image",
     Section::tools,
     {"--config", "--json", "--all", "--dry-run"},
     R"(  image fetch [NAME...]
                     download, verify (SHA-256/512) and cache the lab's base images
  image list [--json]
                     the cached images
  image verify [NAME...]
                     re-hash cached images (exit 5 if one does not match its digest)
  image prune [--all] [--dry-run]
                     remove cached images no instance disk uses (without --all, the
                     newest of each name stays)
)",
     &run_image},
    {"qmp",
     Section::tools,
     {"--config", "--events"},
     R"(  qmp INSTANCE|SOCKET COMMAND [JSON-ARGS] [--events]
                     one QMP command, its reply as JSON; --events then streams events
)",
     &run_qmp},
    {"version",
     Section::tools,
     {},
     R"(  version            the versions of kvmrun and of the libraries inside it
)",
     &run_version},
    {"help",
     Section::tools,
     {},
     R"(  help               this text
)",
     &run_help},
    // A lab network's switch, which `up` starts (network/switch.hpp).
    {"switch", Section::internal, {}, "", &run_switch},
});

constexpr std::string_view usage_head = R"(usage: kvmrun COMMAND [OPTIONS]

Lab lifecycle (the lab: --config FILE, $KVMRUN_CONFIG, ./kvmrun.toml, or the built-in
default lab):
)";

constexpr std::string_view usage_tail = R"(
Options:
  --config FILE      the lab definition (default: ./kvmrun.toml)
  --json             machine-readable output
  --accel MODE       auto (default: KVM when it works, else TCG), kvm or tcg
  --version          same as 'version'

Environment:
  KVMRUN_QEMU        the qemu-system-x86_64 to use (default: found on PATH)
  KVMRUN_CACHE_DIR   image cache (default: $XDG_CACHE_HOME/kvmrun or ~/.cache/kvmrun;
                     root: /var/cache/kvmrun)
  KVMRUN_STATE_DIR   instance state and evidence (default: ~/.local/state/kvmrun;
                     root: /var/lib/kvmrun)
  KVMRUN_EVIDENCE_DIR runs' and benches' evidence (default: the state directory)
  KVMRUN_CONFIG      the lab file when --config is not given (before ./kvmrun.toml)
  KVMRUN_RUNTIME_DIR sockets and locks (default: $XDG_RUNTIME_DIR/kvmrun; root: /run/kvmrun)
  KVMRUN_QEMU_USER   root only: the user QEMU runs as (default: nobody)

Exit codes: 0 ok, 2 usage, 3 config, 4 host, 5 image, 6 disk, 7 qemu, 8 timeout,
            9 guest, 10 io, 11 protocol, 12 busy, 70 internal error.
)";

std::string usage_text() {
  std::string text(usage_head);
  for (const auto& c : command_table)
    if (c.section == Section::lifecycle)
      text += c.help;
  text += "\nTools:\n";
  for (const auto& c : command_table)
    if (c.section == Section::tools)
      text += c.help;
  text += usage_tail;
  return text;
}

int run_help(const ParsedArgs&, std::ostream& out, std::ostream&, const CliEnvironment&) {
  out << usage_text();
  return 0;
}

int dispatch(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  auto parsed = parse_args(args, option_table);
  if (!parsed)
    return fail(err, parsed.error());
  const std::string& name = parsed->command;
  if (parsed->has("--version"))
    return run_version(*parsed, out, err, env);
  if (parsed->has("--help"))
    return run_help(*parsed, out, err, env);
  if (name.empty()) {
    err << usage_text();
    return exit_code(ErrorCode::usage);
  }
  const auto command = std::find_if(command_table.begin(), command_table.end(),
                                    [&](const Command& c) { return c.name == name; });
  if (command == command_table.end())
    return fail(err,
                Error(ErrorCode::usage, "unknown command '" + name + "'", "see 'kvmrun help'"));
  for (const auto& [option, value] : parsed->options)
    if (std::find(command->options.begin(), command->options.end(), option) ==
        command->options.end())
      return fail(err, Error(ErrorCode::usage, "'" + name + "' does not take " + option,
                             "see 'kvmrun help'"));
  return command->run(*parsed, out, err, env);
}

} // namespace

host::HostPaths host_paths(const CliEnvironment& env) {
  host::HostPaths paths;
  if (const char* qemu = env.getenv("KVMRUN_QEMU"); qemu != nullptr && *qemu != '\0')
    paths.qemu_program = qemu;
  if (const char* path = env.getenv("PATH"); path != nullptr)
    paths.search_path = path;
  const host::Dirs dirs = host::default_dirs(env.getenv, env.uid);
  paths.space = {{"state", dirs.state}, {"cache", dirs.cache}};
  paths.facts_cache = dirs.cache / "host-facts.json";
  return paths;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const CliEnvironment& env) noexcept {
  // Expected failures travel as Results; anything thrown is a bug in kvmrun (or a library
  // failing in a way it should have reported): one line and the internal exit code, never
  // std::terminate.
  try {
    return dispatch(args, out, err, env);
  } catch (const std::exception& e) {
    try {
      err << "kvmrun: internal error: " << e.what()
          << ". Remedy: this is a bug in kvmrun; please report it with the command line\n";
    } catch (...) {
    }
  } catch (...) {
    try {
      err << "kvmrun: internal error: an unknown exception. Remedy: this is a bug in kvmrun; "
             "please report it with the command line\n";
    } catch (...) {
    }
  }
  return exit_code(ErrorCode::internal);
}

} // namespace kvmrun::cli
