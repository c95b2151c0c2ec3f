// What `kvmrun metrics` exports for a lab: its running instances read from /proc, QMP and the
// guest agent, and its last run read from its evidence. Each source that cannot be read leaves
// its series out (an instance whose agent is busy has no network or clock series this time);
// nothing is made up. The names, their units and labels are the README's table.
#pragma once

#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"
#include "metrics/exposition.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::metrics {

struct LabTarget {
  std::string lab;
  std::vector<std::pair<const lab::InstanceSpec*, instance::InstancePaths>> instances;
  std::filesystem::path lab_evidence; // <evidence>/<lab>, for runs/latest
  std::string kvmrun_version;
  std::string qemu_version;
};

[[nodiscard]] std::vector<Family> collect(const LabTarget& target);

// The last run's durations from its timings.jsonl: per stage, per instance and gate, and each
// instance's time from the run's start to its last gate.
struct RunFigures {
  std::vector<std::pair<std::string, double>> stages;              // seconds
  std::vector<std::tuple<std::string, std::string, double>> gates; // instance, gate, seconds
  std::vector<std::pair<std::string, double>> ready;               // instance, seconds
  bool ok = false;
  double finished_at = 0; // seconds since 1970 of its last event's end
};
// ErrorCode::io naming the file and the line when a line is damaged.
[[nodiscard]] Result<RunFigures> read_run(const std::filesystem::path& run_dir);

} // namespace kvmrun::metrics
