#include "evidence/junit_report.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace kvmrun::evidence {

namespace {

std::string seconds_attr(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(d.count()) / 1000);
  return text;
}

// "2026-12-01T11:04:09": JUnit's timestamp (no zone, no fraction), in UTC.
std::string timestamp_attr(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return text;
}

struct Case {
  std::string name;
  std::chrono::milliseconds time{0};
  std::string outcome; // ok, failed, skipped
  std::string detail;  // the result, or the error
};

void write_case(std::string& x, const std::string& classname, const Case& c,
                const std::string& failure_text) {
  x += "    <testcase name=\"" + xml_escape(c.name, true) + "\" classname=\"" +
       xml_escape(classname, true) + "\" time=\"" + seconds_attr(c.time) + "\"";
  if (c.outcome == "failed") {
    x += ">\n      <failure message=\"" + xml_escape(c.detail, true) + "\" type=\"" +
         xml_escape(c.name, true) + "\">" +
         xml_escape(failure_text.empty() ? c.detail : failure_text) + "</failure>\n";
    x += "    </testcase>\n";
  } else if (c.outcome == "skipped") {
    x += ">\n      <skipped message=\"" + xml_escape(c.detail, true) + "\"/>\n    </testcase>\n";
  } else if (!c.detail.empty()) {
    x += ">\n      <system-out>" + xml_escape(c.detail) + "</system-out>\n    </testcase>\n";
  } else {
    x += "/>\n";
  }
}

void write_suite(std::string& x, int id, const std::string& name, const std::string& classname,
                 const std::vector<Case>& cases, std::chrono::system_clock::time_point started,
                 const JunitInput& in, const std::string& failure_text) {
  const auto count = [&](const char* outcome) {
    return std::to_string(std::count_if(cases.begin(), cases.end(),
                                        [&](const Case& c) { return c.outcome == outcome; }));
  };
  std::chrono::milliseconds time{0};
  for (const auto& c : cases)
    time += c.time;
  x += "  <testsuite name=\"" + xml_escape(name, true) + "\" tests=\"" +
       std::to_string(cases.size()) + "\" failures=\"" + count("failed") +
       "\" errors=\"0\" skipped=\"" + count("skipped") + "\" time=\"" + seconds_attr(time) +
       "\" timestamp=\"" + timestamp_attr(started) + "\" hostname=\"" +
       xml_escape(in.hostname, true) + "\" id=\"" + std::to_string(id) + "\" package=\"kvmrun." +
       xml_escape(in.lab, true) + "\">\n";
  for (const auto& c : cases)
    write_case(x, classname, c, failure_text);
  x += "  </testsuite>\n";
}

} // namespace

std::string xml_escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    case '\n': out += attribute ? "&#10;" : "\n"; break;
    case '\t': out += attribute ? "&#9;" : "\t"; break;
    default: out += c;
    }
  }
  return out;
}

std::string render_junit(const RunRecords& run, const JunitInput& in) {
  std::vector<Case> stages;
  for (const auto& e : run.events)
    if (e.kind == "stage")
      stages.push_back({e.name, e.duration, e.outcome, e.detail});
  std::vector<std::pair<std::string, std::vector<Case>>> instances;
  for (const auto& name : instances_of(run)) {
    std::vector<Case> cases;
    bool failed = false;
    for (const auto& e : run.events) {
      if (e.instance != name || (e.kind == "task" && e.outcome != "failed"))
        continue;
      cases.push_back({e.name, e.duration, e.outcome, e.detail});
      failed = failed || e.outcome == "failed";
    }
    if (failed || run.outcome != "ok")
      for (const auto& gate : in.gates)
        if (std::none_of(cases.begin(), cases.end(), [&](const Case& c) { return c.name == gate; }))
          cases.push_back({gate, std::chrono::milliseconds(0), "skipped",
                           failed ? "not reached: an earlier step of " + name + " failed"
                                  : "not reached: the run failed before this gate"});
    instances.emplace_back(name, std::move(cases));
  }

  int tests = static_cast<int>(stages.size()), failures = 0, skipped = 0;
  for (const auto& [name, cases] : instances)
    tests += static_cast<int>(cases.size());
  const auto tally = [&](const std::vector<Case>& cases) {
    for (const auto& c : cases) {
      failures += c.outcome == "failed" ? 1 : 0;
      skipped += c.outcome == "skipped" ? 1 : 0;
    }
  };
  tally(stages);
  for (const auto& [name, cases] : instances)
    tally(cases);

  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites name=\"" + xml_escape("kvmrun " + run.command, true) + "\" tests=\"" +
       std::to_string(tests) + "\" failures=\"" + std::to_string(failures) +
       "\" errors=\"0\" skipped=\"" + std::to_string(skipped) + "\" time=\"" +
       seconds_attr(run.wall) + "\" timestamp=\"" + timestamp_attr(run.started) + "\">\n";
  int id = 0;
  write_suite(x, id++, in.lab, "kvmrun." + in.lab, stages, run.started, in, "");
  for (const auto& [name, cases] : instances) {
    const auto tail = in.serial_tail.find(name);
    const std::string text =
        tail == in.serial_tail.end() || tail->second.empty()
            ? "(no serial log was kept for " + name + ")\n"
            : "the last lines of " + name + "'s serial console:\n" + tail->second;
    write_suite(x, id++, in.lab + "/" + name, "kvmrun." + in.lab + "." + name, cases, run.started,
                in, text);
  }
  x += "</testsuites>\n";
  return x;
}

} // namespace kvmrun::evidence
