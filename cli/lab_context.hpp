// The lab a lifecycle command works on and the instances it names (all when it names none).
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"
#include "templates/record.hpp"

#include <map>
#include <string>
#include <vector>

namespace kvmrun::cli {

struct LabContext {
  lab::LabSpec lab;
  host::Dirs dirs;
  std::vector<const lab::InstanceSpec*> selected;

  [[nodiscard]] instance::InstancePaths paths(const lab::InstanceSpec& instance) const {
    return instance::instance_paths(dirs, lab.name, instance.name);
  }
  [[nodiscard]] std::filesystem::path lab_state() const { return dirs.state / lab.name; }
  // <evidence>/<lab>: its runs/ and bench/ (the state's unless KVMRUN_EVIDENCE_DIR moves them).
  [[nodiscard]] std::filesystem::path lab_evidence() const { return dirs.evidence / lab.name; }
};

// `names`: instance names; unknown ones are a config error listing the lab's instances.
[[nodiscard]] Result<LabContext> open_lab(const ParsedArgs& args, const CliEnvironment& env,
                                          const std::vector<std::string>& names);

// For commands that take exactly one instance name, at `position` among the positional
// arguments; a usage error showing `usage` when it is missing.
[[nodiscard]] Result<std::pair<LabContext, const lab::InstanceSpec*>>
one_instance(const ParsedArgs& args, const CliEnvironment& env, std::size_t position,
             const std::string& usage);

// How long a snapshot job of the instance may take: its shutdown step, and at least 10 min.
[[nodiscard]] Deadline snapshot_deadline(const lab::InstanceSpec& instance);

// ErrorCode::qemu: the instance is not running, with how to start it.
[[nodiscard]] Error not_running(const lab::InstanceSpec& instance);

// Puts the lab's SSH key (instance/lab_key) into every instance's seed, as `up` provisions it:
// for every command that renders seeds. `make`: made first when the lab has none; otherwise the
// seeds stay without one until it exists.
[[nodiscard]] Status give_lab_key(LabContext& ctx, bool make = true);

// The templates the selected clones (instances with template = "NAME") are restored from, by
// name. Each such clone takes its template's NICs (templates::adopt_nics): its seed, argv and
// gates then name the MACs its restored devices keep. ErrorCode::config for a missing template or
// networks that differ from the template's.
[[nodiscard]] Result<std::map<std::string, templates::TemplateRecord>>
apply_templates(LabContext& ctx);

// The run directory a command reads (`report`, `events`): its first positional argument, or the
// lab's latest run (<evidence>/<lab>/runs/latest).
[[nodiscard]] Result<std::filesystem::path> run_dir_argument(const ParsedArgs& args,
                                                             const CliEnvironment& env);

// Every password of the lab's users: what evidence must never contain.
[[nodiscard]] std::vector<std::string> lab_secrets(const lab::LabSpec& lab);

} // namespace kvmrun::cli
