// The lab a lifecycle command works on and the instances it names (all when it names none).
#pragma once

#include "base/result.hpp"
#include "lab/lab_spec.hpp"
#include "runner/cli.hpp"
#include "runner/cli_args.hpp"
#include "runner/gates.hpp"
#include "runner/instance_paths.hpp"

#include <vector>

namespace kvmrun::runner {

struct LabContext {
  lab::LabSpec lab;
  Dirs dirs;
  std::vector<const lab::InstanceSpec*> selected;

  [[nodiscard]] InstancePaths paths(const lab::InstanceSpec& instance) const {
    return instance_paths(dirs, lab.name, instance.name);
  }
  [[nodiscard]] std::filesystem::path lab_state() const { return dirs.state / lab.name; }
};

// `names`: instance names; unknown ones are a config error listing the lab's instances.
[[nodiscard]] Result<LabContext> open_lab(const ParsedArgs& args, const CliEnvironment& env,
                                          const std::vector<std::string>& names);

// Every password of the lab's users: what evidence must never contain.
[[nodiscard]] std::vector<std::string> lab_secrets(const lab::LabSpec& lab);

// One gate result as a progress line: "  web       ok    agent        12.3 s  detail".
[[nodiscard]] std::string gate_line(const GateOutcome& o);

} // namespace kvmrun::runner
