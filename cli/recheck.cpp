#include "cli/recheck.hpp"

#include "instance/provenance.hpp"
#include "instance/runtime_forwards.hpp"
#include "instance/seed_image.hpp"
#include "templates/record.hpp"
#include "templates/save.hpp"

namespace kvmrun::cli {

Result<readiness::GateTarget> recheck_target(const LabContext& ctx, const lab::InstanceSpec& i,
                                             std::vector<readiness::Peer> peers) {
  const auto paths = ctx.paths(i);
  // A template save whose kvmrun was killed left the guest paused: resumed first.
  if (auto undone = templates::undo_interrupted_save(paths, i.name,
                                                     templates::templates_root(ctx.dirs.cache));
      !undone)
    return std::move(undone).error();
  auto seed = instance::build_seed_image(i);
  if (!seed)
    return std::move(seed).error().add_context("working out the instance-id of " + i.name +
                                               " from the lab");
  readiness::GateTarget target{
      ctx.lab.name,     i, paths,       false, std::chrono::seconds(60), {},
      std::move(peers), 0, std::nullopt};
  target.provenance.instance_id = seed->documents.instance_id;
  // A clone restored from a template booted there: its gates know it from its record.
  if (auto recorded = instance::read_provenance(paths.provenance());
      recorded && !recorded->template_name.empty())
    target.clone = readiness::CloneOrigin{recorded->template_name, recorded->template_instance_id,
                                          i.seed.hostname, i.on_clone};
  auto forwards = instance::current_forwards(i, paths);
  if (!forwards)
    return std::move(forwards).error().add_context("checking " + i.name);
  target.instance.forwards = std::move(forwards).value();
  return target;
}

} // namespace kvmrun::cli
