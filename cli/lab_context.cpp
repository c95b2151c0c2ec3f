#include "cli/lab_context.hpp"

#include "instance/lab_key.hpp"

#include "cli/lab_source.hpp"

namespace kvmrun::cli {

Result<LabContext> open_lab(const ParsedArgs& args, const CliEnvironment& env,
                            const std::vector<std::string>& names) {
  auto lab = resolve_lab(args, env);
  if (!lab)
    return std::move(lab).error();
  LabContext ctx{std::move(lab).value(), host::default_dirs(env.getenv, env.uid), {}};
  for (const auto& name : names) {
    auto instance = ctx.lab.find_instance(name);
    if (!instance)
      return std::move(instance).error();
    ctx.selected.push_back(*instance);
  }
  if (names.empty())
    for (const auto& i : ctx.lab.instances)
      ctx.selected.push_back(&i);
  return ctx;
}

Result<std::pair<LabContext, const lab::InstanceSpec*>> one_instance(const ParsedArgs& args,
                                                                     const CliEnvironment& env,
                                                                     std::size_t position,
                                                                     const std::string& usage) {
  if (args.positional.size() <= position)
    return Error(ErrorCode::usage, "missing the instance name", "usage: " + usage);
  auto ctx = open_lab(args, env, {args.positional[position]});
  if (!ctx)
    return std::move(ctx).error();
  const auto* instance = ctx->selected.front();
  return std::make_pair(std::move(ctx).value(), instance);
}

Error not_running(const lab::InstanceSpec& i) {
  return Error(ErrorCode::qemu, "instance '" + i.name + "' is not running",
               "start it with `kvmrun up " + i.name + "`");
}

Deadline snapshot_deadline(const lab::InstanceSpec& instance) {
  return deadline_after(
      std::max<std::chrono::milliseconds>(instance.timeouts.shutdown, std::chrono::minutes(10)));
}

Status give_lab_key(LabContext& ctx, bool make) {
  std::optional<instance::LabKey> key;
  if (make) {
    auto made = instance::lab_key(ctx.lab.name, ctx.lab_state());
    if (!made)
      return std::move(made).error();
    key = std::move(made).value();
  } else {
    auto found = instance::existing_lab_key(ctx.lab_state());
    if (!found)
      return std::move(found).error();
    key = std::move(found).value();
  }
  if (key)
    for (auto& i : ctx.lab.instances)
      instance::authorize_lab_key(i, key->key.authorized_key());
  return {};
}

Result<std::map<std::string, templates::TemplateRecord>> apply_templates(LabContext& ctx) {
  std::map<std::string, templates::TemplateRecord> records;
  const auto root = templates::templates_root(ctx.dirs.cache);
  for (auto& i : ctx.lab.instances) {
    if (i.template_name.empty() ||
        std::find(ctx.selected.begin(), ctx.selected.end(), &i) == ctx.selected.end())
      continue;
    if (!records.contains(i.template_name)) {
      auto r = templates::read_record(root / i.template_name);
      if (!r)
        return std::move(r).error().add_context("instance " + i.name + " is a clone");
      records.emplace(i.template_name, std::move(r).value());
    }
    if (auto s = templates::adopt_nics(records.at(i.template_name), i); !s)
      return std::move(s).error();
    i.disk_bytes.reset(); // a clone's disks are its template's size
  }
  return records;
}

Result<std::filesystem::path> run_dir_argument(const ParsedArgs& args, const CliEnvironment& env) {
  if (!args.positional.empty())
    return std::filesystem::path(args.positional.front());
  auto ctx = open_lab(args, env, {});
  if (!ctx)
    return std::move(ctx).error();
  return ctx->lab_evidence() / "runs" / "latest";
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

} // namespace kvmrun::cli
