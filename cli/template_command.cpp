// `kvmrun template save|list|delete`: ready guests saved once (templates/), which instances
// with `template = "NAME"` (or `up --from-template NAME`) start from in well under a second.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "evidence/stopwatch.hpp"
#include "instance/base_images.hpp"
#include "instance/seed_image.hpp"
#include "lab/values.hpp"
#include "templates/record.hpp"
#include "templates/save.hpp"

#include <boost/json.hpp>

#include <iomanip>
#include <sstream>

namespace kvmrun::cli {

namespace {

namespace json = boost::json;
using evidence::seconds_text;

std::string mib(std::uint64_t bytes) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1U << 20U) << " MiB";
  return s.str();
}

// The clone disks, among `chains` (instance::backing_chains of the state directory), that sit
// on one of the files of the template in `dir`.
std::vector<std::filesystem::path> users_of(const std::filesystem::path& dir,
                                            const std::vector<instance::BackingChain>& chains) {
  std::error_code ec;
  const auto canonical_dir = std::filesystem::weakly_canonical(dir, ec);
  std::vector<std::filesystem::path> users;
  for (const auto& chain : chains)
    if (std::any_of(chain.backing.begin(), chain.backing.end(),
                    [&](const auto& b) { return b.parent_path() == canonical_dir; }))
      users.push_back(chain.image);
  return users;
}

int save(const ParsedArgs& args, std::ostream& out, std::ostream& err, const CliEnvironment& env,
         const std::string& usage) {
  auto found = one_instance(args, env, 1, usage);
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  if (args.positional.size() < 3)
    return fail(err, Error(ErrorCode::usage, "template save needs a NAME", "usage: " + usage));
  const std::string name = args.positional[2];
  if (!lab::is_valid_name(name))
    return fail(err, Error(ErrorCode::usage, "template name '" + name + "' is not a plain name",
                           "use 1 to 32 of a-z, 0-9 and '-', starting with a letter"));
  if (auto s = give_lab_key(ctx, false); !s)
    return fail(err, s.error());
  auto seed = instance::build_seed_image(*instance);
  if (!seed)
    return fail(err, seed.error());
  templates::SaveRequest rq{name,
                            ctx.lab.name,
                            instance,
                            &ctx.lab.images.at(instance->image),
                            ctx.paths(*instance),
                            seed->documents.instance_id,
                            templates::templates_root(ctx.dirs.cache),
                            args.has("--resume")};
  auto saved = templates::save_template(rq, [&](const std::string& step) {
    out << "  " << instance->name << ": " << step << "\n" << std::flush;
  });
  if (!saved)
    return fail(err, saved.error());
  const auto& r = saved->record;
  out << "template " << name << " saved from " << instance->name << " in "
      << seconds_text(saved->total) << ": state " << mib(r.state_bytes) << " of "
      << mib(r.ram_bytes) << " RAM written in " << seconds_text(saved->pause_to_saved)
      << ", disks copied in " << seconds_text(saved->disks_copied) << "\n"
      << "  " << saved->dir.string() << "\n"
      << "  " << instance->name << " "
      << (rq.resume ? "runs on (resumed)"
                    : "is stopped (its disks are kept; --resume keeps it "
                      "running)")
      << "\n";
  return 0;
}

int list(const ParsedArgs& args, std::ostream& out, const CliEnvironment& env) {
  const auto dirs = host::default_dirs(env.getenv, env.uid);
  const auto root = templates::templates_root(dirs.cache);
  const auto all = templates::list_templates(root);
  const auto chains = instance::backing_chains(dirs.state); // read once for every template
  if (args.has("--json")) {
    json::array items;
    for (const auto& t : all) {
      if (!t.record) {
        items.push_back(json::object{{"name", t.name}, {"error", t.record.error().describe()}});
        continue;
      }
      const auto& r = *t.record;
      items.push_back(json::object{{"name", r.name},
                                   {"created", r.created},
                                   {"lab", r.lab},
                                   {"instance", r.instance},
                                   {"image", r.image},
                                   {"qemu_version", r.qemu_version},
                                   {"accel", r.accel},
                                   {"cpus", r.cpus},
                                   {"memory_bytes", r.memory_bytes},
                                   {"state_bytes", r.state_bytes},
                                   {"clones", users_of(root / r.name, chains).size()}});
    }
    out << json::serialize(items) << "\n";
    return 0;
  }
  if (all.empty()) {
    out << "no templates (in " << root.string() << "); `kvmrun template save INSTANCE NAME` "
        << "makes one\n";
    return 0;
  }
  for (const auto& t : all) {
    if (!t.record) {
      out << t.name << "  DAMAGED: " << t.record.error().describe() << "\n";
      continue;
    }
    const auto& r = *t.record;
    out << r.name << "  " << r.created << "  from " << r.lab << "/" << r.instance << " (" << r.image
        << "), " << r.cpus << " CPU, " << (r.memory_bytes >> 20U) << " MiB, " << r.accel
        << ", state " << mib(r.state_bytes) << ", " << users_of(root / r.name, chains).size()
        << " clone disk(s)\n";
  }
  return 0;
}

int remove(const ParsedArgs& args, std::ostream& out, std::ostream& err, const CliEnvironment& env,
           const std::string& usage) {
  if (args.positional.size() < 2)
    return fail(err, Error(ErrorCode::usage, "template delete needs a NAME", "usage: " + usage));
  const std::string name = args.positional[1];
  if (!lab::is_valid_name(name))
    return fail(err, Error(ErrorCode::usage, "template name '" + name + "' is not a plain name"));
  const auto dirs = host::default_dirs(env.getenv, env.uid);
  const auto dir = templates::templates_root(dirs.cache) / name;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec))
    return fail(err, Error(ErrorCode::config, "no template '" + name + "'",
                           "`kvmrun template list` shows the templates"));
  if (const auto users = users_of(dir, instance::backing_chains(dirs.state)); !users.empty()) {
    std::string files;
    for (const auto& u : users)
      files += "\n  " + u.string();
    return fail(err, Error(ErrorCode::busy,
                           "template '" + name + "' is in use: clone disks sit on its" + files,
                           "`kvmrun down --purge-disks` those clones first"));
  }
  // Renamed out of the way first, so a clone starting now finds it whole or not at all.
  const auto doomed = dir.parent_path() / ("." + name + ".deleting-" + std::to_string(::getpid()));
  if (::rename(dir.c_str(), doomed.c_str()) != 0)
    return fail(err, system_error(ErrorCode::io, "removing template " + name, errno));
  std::filesystem::remove_all(doomed, ec);
  if (ec)
    return fail(err, Error(ErrorCode::io, "removing " + doomed.string() + ": " + ec.message()));
  out << "template " << name << " deleted\n";
  return 0;
}

} // namespace

int run_template(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                 const CliEnvironment& env) {
  const std::string usage = "kvmrun template save INSTANCE NAME [--resume] | list [--json] | "
                            "delete NAME";
  if (args.positional.empty())
    return fail(err, Error(ErrorCode::usage, "missing the template action", "usage: " + usage));
  const std::string& action = args.positional.front();
  if (action == "save")
    return save(args, out, err, env, usage);
  if (action == "list")
    return list(args, out, env);
  if (action == "delete")
    return remove(args, out, err, env, usage);
  return fail(
      err, Error(ErrorCode::usage, "unknown template action '" + action + "'", "usage: " + usage));
}

} // namespace kvmrun::cli
