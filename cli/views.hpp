// How kvmrun shows things to people and to machines: the text and JSON renderers of preflight
// reports, disk chains, gate results, and the terminal progress bar. Pure except the progress
// bar, which draws on stderr.
#pragma once

#include "evidence/run_evidence.hpp"
#include "host/preflight.hpp"
#include "images/download.hpp"
#include "images/qcow2.hpp"
#include "instance/qemu_process.hpp"
#include "readiness/gates.hpp"

#include <string>
#include <vector>

namespace kvmrun::cli {

[[nodiscard]] std::string render_text(const host::PreflightReport& report);
[[nodiscard]] std::string render_json(const host::PreflightReport& report);

// A disk chain (`disk info`) with a verdict per image.
[[nodiscard]] std::string render_chain_text(const std::vector<images::ImageInfo>& chain);
[[nodiscard]] std::string render_chain_json(const std::vector<images::ImageInfo>& chain);

// One gate result as a progress line: "  web       ok    agent        12.3 s  detail".
[[nodiscard]] std::string gate_line(const readiness::GateOutcome& o);

// The evidence record of a gate result, and of stopping an instance's QEMU ("stop qemu": the
// step that ended it, or why it could not be stopped), for timings.jsonl and --json.
[[nodiscard]] evidence::TimingEvent gate_record(const readiness::GateOutcome& o);
[[nodiscard]] evidence::TimingEvent stop_record(const std::string& instance,
                                                std::chrono::system_clock::time_point started,
                                                const Result<instance::StopResult>& stopped);

// One argument as a POSIX shell reads it back: as is when it is plain, else single-quoted.
[[nodiscard]] std::string shell_quote(const std::string& s);

// A command line as a shell reads it back: each argument shell_quote'd, joined by spaces.
[[nodiscard]] std::string shell_line(const std::vector<std::string>& argv);

// A progress bar on a terminal, redrawn at most ten times a second; nothing otherwise.
[[nodiscard]] images::ProgressSink terminal_progress(std::string label, bool is_terminal);

} // namespace kvmrun::cli
