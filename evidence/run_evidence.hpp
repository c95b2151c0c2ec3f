// Evidence of one run: <state>/<lab>/runs/<run-id>/ (runs/latest points at the newest)
//   timings.jsonl  one event per stage, gate and task: start, end, duration, outcome, detail
//   timings.csv    the same events as a table
//   summary.json   wall time, stage totals, the slowest tasks (read back by run_report.hpp)
//   <instance>/    argv.json, serial.log, qemu.log copies
// Thread-safe: instances record from their own threads. Secrets are redacted before writing.
// Writing evidence never stops a run, but it is never lost silently either: the first failed
// write is kept and finish() returns it.
#pragma once

#include <boost/json/object.hpp>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kvmrun::evidence {

struct TimingEvent {
  std::string kind;     // "stage", "gate", "task"
  std::string name;     // "provision", "agent", "fetch debian-12", ...
  std::string instance; // empty for lab-wide events
  std::chrono::system_clock::time_point start;
  std::chrono::milliseconds duration{0};
  std::string outcome; // "ok", "failed", "skipped"
  std::string detail;
};

class RunEvidence {
public:
  [[nodiscard]] static Result<RunEvidence> create(const std::filesystem::path& lab_evidence,
                                                  std::string command,
                                                  std::vector<std::string> secrets);
  RunEvidence(RunEvidence&& other) noexcept;
  [[nodiscard]] const std::filesystem::path& dir() const { return m_dir; }
  void record(TimingEvent event);
  // Hears each record as it is appended to timings.jsonl (the same JSON object), in order:
  // `up --json` streams them (event_stream.hpp).
  void on_record(std::function<void(const boost::json::object&)> listener);
  // What has been recorded so far (redacted), in order.
  [[nodiscard]] std::vector<TimingEvent> events();
  // A file of evidence (argv, logs), redacted.
  void save(const std::string& relative, std::string_view content);
  // timings.csv and summary.json; `outcome` is the run's. Fails with the first write that
  // failed during the run, or with its own.
  [[nodiscard]] Status finish(const std::string& outcome);

private:
  RunEvidence(std::filesystem::path dir, UniqueFd jsonl, std::string command,
              std::vector<std::string> secrets);
  void note_failure(Error error); // keeps the first; callers hold m_mutex
  std::filesystem::path m_dir;
  UniqueFd m_jsonl; // timings.jsonl, opened for appending
  std::string m_command;
  std::vector<std::string> m_secrets;
  std::chrono::system_clock::time_point m_started;
  std::mutex m_mutex;
  std::vector<TimingEvent> m_events;
  std::optional<Error> m_failure;
  std::function<void(const boost::json::object&)> m_listener;
};

// A record as timings.jsonl (and `--json`'s end events) has it.
[[nodiscard]] boost::json::object to_record(const TimingEvent& event);

// Replaces every occurrence of each secret in `text` with "[redacted]".
[[nodiscard]] std::string redact(std::string text, const std::vector<std::string>& secrets);

} // namespace kvmrun::evidence
