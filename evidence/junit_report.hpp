// `kvmrun report --junit FILE [RUN]`: a run as JUnit XML, the format Jenkins, GitLab and most CI
// systems read (tests/schemas/junit.xsd is the shape checked): a <testsuite> for the lab's
// stages, then one per instance with a <testcase> per gate and its time (and per failed task:
// provisioning, spawning QEMU). A failure carries kvmrun's one-line error as its message and
// the tail of the instance's serial log as its text; the gates a failed run never reached are
// <skipped>. Timestamps are UTC. Pure: the caller reads the run and the logs.
#pragma once

#include "evidence/run_records.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::evidence {

struct JunitInput {
  std::string lab;
  std::string hostname;
  std::vector<std::string> gates;                 // every gate, in the order they run
  std::map<std::string, std::string> serial_tail; // per instance
};

[[nodiscard]] std::string render_junit(const RunRecords& run, const JunitInput& input);

// `text` with &, <, >, " and ' escaped (and, for attributes, newlines and tabs as references).
[[nodiscard]] std::string xml_escape(std::string_view text, bool attribute = false);

} // namespace kvmrun::evidence
