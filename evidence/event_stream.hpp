// `kvmrun up --json`: the run's events on standard output as they happen, one JSON object per
// line, schema "kvmrun.events/1":
//   {"schema":"kvmrun.events/1","event":"start","kind":"stage"|"gate","name":..,"instance":..,"time":ISO}
//   {"schema":"kvmrun.events/1","event":"end","record":{...}}     the record exactly as
//   timings.jsonl has it
//   {"schema":"kvmrun.events/1","event":"result","outcome":"ok"|"failed","exit_code":N,"evidence":DIR}
// `up`, `check`, `down` and `bench cold` take --json. Their records: up's are timings.jsonl's
// (stages; gates; tasks: "provision", "spawn qemu" (QEMU started; detail "pid N"), "stop qemu"
// (QEMU exited; detail the stop step), ...); check's are gates; down's are "stop qemu" and
// "purge disks" tasks; bench cold's are each run's up and down records, then a "run" record
// ("run N", the cold run's up and down). `evidence` is absent for commands that keep none
// (check, down).
// (`kvmrun events`, replaying a run from its evidence, has no start lines, and its result has
// no exit_code; a run whose kvmrun died before it ended has the outcome "interrupted".)
// A new field may appear in a later version of the same schema; a change of meaning gets a new
// schema name. Lines from several instances' threads never interleave; each is flushed.
#pragma once

#include "evidence/run_evidence.hpp"

#include <boost/json/object.hpp>

#include <mutex>
#include <optional>
#include <ostream>
#include <string>

namespace kvmrun::evidence {

inline constexpr const char* events_schema = "kvmrun.events/1";

class EventStream {
public:
  explicit EventStream(std::ostream& out) : m_out(out) {}
  void start(const std::string& kind, const std::string& name, const std::string& instance);
  void end(const boost::json::object& record);
  void end(const TimingEvent& event) { end(to_record(event)); }
  void result(const std::string& outcome, std::optional<int> exit_code,
              const std::string& evidence_dir);

private:
  void line(boost::json::object o);
  std::ostream& m_out;
  std::mutex m_mutex;
};

} // namespace kvmrun::evidence
