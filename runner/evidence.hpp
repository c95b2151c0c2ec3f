// Evidence of one run: <state>/<lab>/runs/<run-id>/ (runs/latest points at the newest)
//   timings.jsonl  one event per stage, gate and task: start, end, duration, outcome, detail
//   timings.csv    the same events as a table
//   summary.json   wall time, stage totals, the slowest tasks
//   <instance>/    argv.json, serial.log, qemu.log copies
// Thread-safe: instances record from their own threads. Secrets are redacted before writing.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace kvmrun::runner {

// When something started (wall clock, for the record) and how long it has taken (monotonic).
struct Stopwatch {
  std::chrono::system_clock::time_point wall = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  [[nodiscard]] std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
};

// "12.3 s": how every duration is shown to users.
[[nodiscard]] std::string seconds_text(std::chrono::milliseconds d);

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
  [[nodiscard]] static Result<RunEvidence> create(const std::filesystem::path& lab_state,
                                                  std::string command,
                                                  std::vector<std::string> secrets);
  RunEvidence(RunEvidence&& other) noexcept;
  [[nodiscard]] const std::filesystem::path& dir() const { return m_dir; }
  void record(TimingEvent event);
  // A file of evidence (argv, logs), redacted.
  void save(const std::string& relative, std::string_view content);
  // timings.csv and summary.json; `outcome` is the run's.
  Status finish(const std::string& outcome);

private:
  RunEvidence(std::filesystem::path dir, UniqueFd jsonl, std::string command,
              std::vector<std::string> secrets);
  std::filesystem::path m_dir;
  UniqueFd m_jsonl; // timings.jsonl, opened for appending
  std::string m_command;
  std::vector<std::string> m_secrets;
  std::chrono::system_clock::time_point m_started;
  std::mutex m_mutex;
  std::vector<TimingEvent> m_events;
};

// Replaces every occurrence of each secret in `text` with "[redacted]".
[[nodiscard]] std::string redact(std::string text, const std::vector<std::string>& secrets);

// `kvmrun report [RUN]`: wall time, stage totals and the slowest tasks of a run directory.
[[nodiscard]] Result<std::string> render_report(const std::filesystem::path& run_dir);

} // namespace kvmrun::runner
