#include "evidence/run_evidence.hpp"

#include "evidence/stopwatch.hpp"

#include "base/file_io.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <ctime>
#include <map>
#include <sstream>

namespace kvmrun::evidence {

namespace json = boost::json;

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (const char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

} // namespace

json::object to_record(const TimingEvent& e) {
  return json::object{{"kind", e.kind},
                      {"name", e.name},
                      {"instance", e.instance},
                      {"start", iso_time(e.start)},
                      {"end", iso_time(e.start + e.duration)},
                      {"duration_ms", e.duration.count()},
                      {"outcome", e.outcome},
                      {"detail", e.detail}};
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty())
      continue;
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 10))
      text.replace(pos, s.size(), "[redacted]");
  }
  return text;
}

RunEvidence::RunEvidence(std::filesystem::path dir, UniqueFd jsonl, std::string command,
                         std::vector<std::string> secrets)
    : m_dir(std::move(dir)), m_jsonl(std::move(jsonl)), m_command(std::move(command)),
      m_secrets(std::move(secrets)), m_started(std::chrono::system_clock::now()) {}

RunEvidence::RunEvidence(RunEvidence&& other) noexcept
    : m_dir(std::move(other.m_dir)), m_jsonl(std::move(other.m_jsonl)),
      m_command(std::move(other.m_command)), m_secrets(std::move(other.m_secrets)),
      m_started(other.m_started), m_events(std::move(other.m_events)),
      m_failure(std::move(other.m_failure)), m_listener(std::move(other.m_listener)) {}

void RunEvidence::note_failure(Error error) {
  if (!m_failure)
    m_failure = std::move(error);
}

Result<RunEvidence> RunEvidence::create(const std::filesystem::path& lab_evidence,
                                        std::string command, std::vector<std::string> secrets) {
  const auto now = std::chrono::system_clock::now();
  std::string id = iso_time(now);
  std::replace(id.begin(), id.end(), ':', '-');
  id += '-';
  id += std::to_string(::getpid());
  const auto runs = lab_evidence / "runs";
  const auto dir = runs / id;
  if (auto made = create_private_dirs(dir); !made)
    return std::move(made).error().add_context("creating the run's evidence directory");
  std::error_code ec;
  std::filesystem::remove(runs / "latest.tmp", ec);
  std::filesystem::create_directory_symlink(id, runs / "latest.tmp", ec);
  if (!ec)
    std::filesystem::rename(runs / "latest.tmp", runs / "latest", ec);
  UniqueFd jsonl(::open((dir / "timings.jsonl").c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!jsonl.valid())
    return system_error(ErrorCode::io, "creating " + (dir / "timings.jsonl").string(), errno);
  return RunEvidence(dir, std::move(jsonl), std::move(command), std::move(secrets));
}

void RunEvidence::on_record(std::function<void(const boost::json::object&)> listener) {
  std::lock_guard lock(m_mutex);
  m_listener = std::move(listener);
}

void RunEvidence::record(TimingEvent event) {
  event.detail = redact(std::move(event.detail), m_secrets);
  const auto object = to_record(event);
  const std::string line = json::serialize(object) + "\n";
  std::lock_guard lock(m_mutex);
  m_events.push_back(std::move(event));
  if (m_listener)
    m_listener(object);
  // Appended as it happens, so a run that is killed still leaves its events. One write per
  // line (O_APPEND): lines from several instances' threads never interleave.
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(m_jsonl.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) { // the run goes on; finish() reports it
      note_failure(system_error(ErrorCode::io, "appending to " + (m_dir / "timings.jsonl").string(),
                                n < 0 ? errno : ENOSPC));
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::vector<TimingEvent> RunEvidence::events() {
  std::lock_guard lock(m_mutex);
  return m_events;
}

void RunEvidence::save(const std::string& relative, std::string_view content) {
  const auto path = m_dir / relative;
  Status written = create_private_dirs(path.parent_path());
  if (written)
    written = write_file_atomic(path, redact(std::string(content), m_secrets), 0600,
                                Durability::regenerated);
  if (!written) {
    std::lock_guard lock(m_mutex);
    note_failure(std::move(written).error());
  }
}

Status RunEvidence::finish(const std::string& outcome) {
  std::lock_guard lock(m_mutex);
  std::string csv = "kind,name,instance,start,end,duration_ms,outcome,detail\n";
  std::map<std::string, std::int64_t> stages;
  for (const auto& e : m_events) {
    csv += csv_field(e.kind) + "," + csv_field(e.name) + "," + csv_field(e.instance) + "," +
           iso_time(e.start) + "," + iso_time(e.start + e.duration) + "," +
           std::to_string(e.duration.count()) + "," + e.outcome + "," + csv_field(e.detail) + "\n";
    if (e.kind == "stage")
      stages[e.name] += e.duration.count();
  }
  std::vector<const TimingEvent*> tasks;
  for (const auto& e : m_events)
    if (e.kind != "stage")
      tasks.push_back(&e);
  std::sort(tasks.begin(), tasks.end(),
            [](const auto* a, const auto* b) { return a->duration > b->duration; });
  json::array slowest;
  for (std::size_t i = 0; i < tasks.size() && i < 5; ++i)
    slowest.push_back(to_record(*tasks[i]));
  json::object stage_totals;
  for (const auto& [name, ms] : stages)
    stage_totals[name] = ms;
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() - m_started);
  const json::object summary{{"command", m_command},           {"outcome", outcome},
                             {"started", iso_time(m_started)}, {"wall_ms", wall.count()},
                             {"stage_ms", stage_totals},       {"slowest", slowest},
                             {"events", m_events.size()}};
  if (auto w = write_file_atomic(m_dir / "timings.csv", csv, 0600); !w)
    note_failure(std::move(w).error());
  else if (auto s =
               write_file_atomic(m_dir / "summary.json", json::serialize(summary) + "\n", 0600);
           !s)
    note_failure(std::move(s).error());
  if (m_failure)
    return Error(*m_failure).add_context("writing the evidence of this run in " + m_dir.string());
  return {};
}

} // namespace kvmrun::evidence
