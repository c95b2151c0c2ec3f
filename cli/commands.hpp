// Every command's entry point, one file each (cli/<name>_command.cpp); cli.cpp's command table
// names them with their options and help text.
#pragma once

#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "evidence/event_stream.hpp"
#include "evidence/run_evidence.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <functional>
#include <ostream>
#include <vector>

namespace kvmrun::cli {

// A command: its parsed arguments in, the process exit code out. Output to `out`, errors to
// `err` (fail() in args.hpp).
using CommandFn = int(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                      const CliEnvironment& env);

CommandFn run_up;
CommandFn run_status;
CommandFn run_check;
CommandFn run_exec;
CommandFn run_ssh;
CommandFn run_cp;
CommandFn run_forward;
CommandFn run_console;
CommandFn run_snapshot;
CommandFn run_template;
CommandFn run_down;
CommandFn run_report;
CommandFn run_preflight;
CommandFn run_seed;
CommandFn run_disk;
CommandFn run_image;
CommandFn run_qmp;
CommandFn run_version;
CommandFn run_switch;
CommandFn run_bench;
CommandFn run_metrics;
CommandFn run_events;

// kvmrun's own version ("0.1.0"), as `kvmrun version` prints it.
[[nodiscard]] std::string_view kvmrun_version();

// What `bench cold` asks of the `up` it runs in-process: a change to the lab as loaded (apt
// off), and the run's evidence directory and events once it has ended.
struct UpHooks {
  std::function<void(lab::LabSpec&)> adjust_lab;
  evidence::EventStream* stream = nullptr; // the bench's --json: up's records join it
  std::function<void(const std::filesystem::path& evidence_dir,
                     std::vector<evidence::TimingEvent> events)>
      finished;
};
[[nodiscard]] int run_up_hooked(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                                const CliEnvironment& env, const UpHooks& hooks);

// `kvmrun down` for a caller with an event stream (bench cold's --json), or none.
[[nodiscard]] int down_lab(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                           const CliEnvironment& env, evidence::EventStream* stream);

// --json for the commands that stream their records (evidence/event_stream.hpp): `body` gets
// the stream (nullptr without --json) and where its human output goes (stderr with --json,
// else `out`), and may name its evidence directory; with --json the result line follows.
using StreamedBody =
    std::function<int(std::ostream& human, evidence::EventStream* stream, std::string& evidence)>;
[[nodiscard]] int run_streamed(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                               const StreamedBody& body);

} // namespace kvmrun::cli
