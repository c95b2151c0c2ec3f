#include "evidence/event_stream.hpp"

#include "evidence/stopwatch.hpp"

#include <boost/json/serialize.hpp>

#include <chrono>

namespace kvmrun::evidence {

void EventStream::line(boost::json::object o) {
  boost::json::object out{{"schema", events_schema}};
  for (auto& [k, v] : o)
    out[k] = std::move(v);
  const std::string text = boost::json::serialize(out) + "\n";
  std::lock_guard lock(m_mutex);
  m_out << text << std::flush;
}

void EventStream::start(const std::string& kind, const std::string& name,
                        const std::string& instance) {
  line({{"event", "start"},
        {"kind", kind},
        {"name", name},
        {"instance", instance},
        {"time", iso_time(std::chrono::system_clock::now())}});
}

void EventStream::end(const boost::json::object& record) {
  line({{"event", "end"}, {"record", record}});
}

void EventStream::result(const std::string& outcome, std::optional<int> exit_code,
                         const std::string& evidence_dir) {
  boost::json::object o{{"event", "result"}, {"outcome", outcome}};
  if (exit_code)
    o["exit_code"] = *exit_code;
  if (!evidence_dir.empty())
    o["evidence"] = evidence_dir;
  line(std::move(o));
}

} // namespace kvmrun::evidence
