#include "runner/lab_context.hpp"

#include "runner/evidence.hpp"
#include "runner/lab_source.hpp"

#include <cstdio>

namespace kvmrun::runner {

Result<LabContext> open_lab(const ParsedArgs& args, const CliEnvironment& env,
                            const std::vector<std::string>& names) {
  auto lab = resolve_lab(args, env);
  if (!lab)
    return std::move(lab).error();
  LabContext ctx{std::move(lab).value(), default_dirs(env.getenv, env.uid), {}};
  for (const auto& name : names) {
    const auto* instance = ctx.lab.find_instance(name);
    if (instance == nullptr) {
      std::string known;
      for (const auto& i : ctx.lab.instances)
        known += (known.empty() ? "" : ", ") + i.name;
      return Error(ErrorCode::config, "no instance '" + name + "' in " + ctx.lab.source,
                   "the lab's instances are: " + known);
    }
    ctx.selected.push_back(instance);
  }
  if (names.empty())
    for (const auto& i : ctx.lab.instances)
      ctx.selected.push_back(&i);
  return ctx;
}

std::vector<std::string> lab_secrets(const lab::LabSpec& lab) {
  std::vector<std::string> secrets;
  for (const auto& i : lab.instances)
    for (const auto& u : i.seed.users) {
      if (!u.plain_password.empty())
        secrets.push_back(u.plain_password);
      if (!u.password_hash.empty())
        secrets.push_back(u.password_hash);
    }
  return secrets;
}

std::string gate_line(const GateOutcome& o) {
  char head[96];
  std::snprintf(head, sizeof head, "  %-12s %-4s %-11s %9s  ", o.instance.c_str(),
                o.passed ? "ok" : "FAIL", o.gate.c_str(), seconds_text(o.duration).c_str());
  std::string line = head;
  if (o.passed)
    line += o.detail;
  else if (o.error)
    line += o.error->message();
  return line;
}

} // namespace kvmrun::runner
