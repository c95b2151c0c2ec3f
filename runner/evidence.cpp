#include "runner/evidence.hpp"

#include "base/file_io.hpp"
#include "runner/instance_lock.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <ctime>
#include <map>
#include <sstream>

namespace kvmrun::runner {

namespace json = boost::json;

namespace {

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms.count() % 1000));
  return out;
}

json::object to_json(const TimingEvent& e) {
  return json::object{{"kind", e.kind},
                      {"name", e.name},
                      {"instance", e.instance},
                      {"start", iso_time(e.start)},
                      {"end", iso_time(e.start + e.duration)},
                      {"duration_ms", e.duration.count()},
                      {"outcome", e.outcome},
                      {"detail", e.detail}};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (const char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

} // namespace

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
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
      m_started(other.m_started), m_events(std::move(other.m_events)) {}

Result<RunEvidence> RunEvidence::create(const std::filesystem::path& lab_state, std::string command,
                                        std::vector<std::string> secrets) {
  const auto now = std::chrono::system_clock::now();
  std::string id = iso_time(now);
  std::replace(id.begin(), id.end(), ':', '-');
  id += "-" + std::to_string(::getpid());
  const auto runs = lab_state / "runs";
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

void RunEvidence::record(TimingEvent event) {
  event.detail = redact(std::move(event.detail), m_secrets);
  const std::string line = json::serialize(to_json(event)) + "\n";
  std::lock_guard lock(m_mutex);
  m_events.push_back(std::move(event));
  // Appended as it happens, so a run that is killed still leaves its events. One write per
  // line (O_APPEND): lines from several instances' threads never interleave.
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(m_jsonl.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // evidence is best effort; the run itself goes on
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void RunEvidence::save(const std::string& relative, std::string_view content) {
  const auto path = m_dir / relative;
  if (!create_private_dirs(path.parent_path()))
    return;
  (void)write_file_atomic(path, redact(std::string(content), m_secrets), 0600,
                          Durability::regenerated);
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
    slowest.push_back(to_json(*tasks[i]));
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
    return w;
  return write_file_atomic(m_dir / "summary.json", json::serialize(summary) + "\n", 0600);
}

Result<std::string> render_report(const std::filesystem::path& run_dir) {
  const auto text = read_file(run_dir / "summary.json", 16U << 20U);
  if (!text)
    return Error(ErrorCode::io, "no summary.json in " + run_dir.string(),
                 "pass a run directory (kvmrun up prints it), or run `kvmrun up` first");
  boost::system::error_code ec;
  const auto doc = json::parse(*text, ec);
  if (ec || !doc.is_object())
    return Error(ErrorCode::io, run_dir.string() + "/summary.json is not valid JSON");
  const auto& s = doc.as_object();
  const auto ms = [](const json::value& v) {
    return seconds_text(std::chrono::milliseconds(v.to_number<std::int64_t>()));
  };
  std::ostringstream out;
  std::error_code canon_ec;
  const auto real = std::filesystem::canonical(run_dir, canon_ec);
  out << "run " << (canon_ec ? run_dir : real).filename().string() << ": "
      << json::value_to<std::string>(s.at("command")) << ", "
      << json::value_to<std::string>(s.at("outcome")) << ", wall time " << ms(s.at("wall_ms"))
      << "\n";
  out << "stages:\n";
  for (const auto& [name, v] : s.at("stage_ms").as_object())
    out << "  " << std::string(name) << std::string(std::max<std::size_t>(1, 14 - name.size()), ' ')
        << ms(v) << "\n";
  out << "slowest:\n";
  for (const auto& e : s.at("slowest").as_array()) {
    const auto& o = e.as_object();
    std::string what =
        json::value_to<std::string>(o.at("kind")) + " " + json::value_to<std::string>(o.at("name"));
    const auto inst = json::value_to<std::string>(o.at("instance"));
    if (!inst.empty())
      what += " (" + inst + ")";
    out << "  " << what << std::string(std::max<std::size_t>(1, 32 - what.size()), ' ')
        << ms(o.at("duration_ms")) << "  " << json::value_to<std::string>(o.at("outcome")) << "\n";
  }
  return out.str();
}

} // namespace kvmrun::runner
