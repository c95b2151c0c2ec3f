// What a running instance's gates are re-proven against, by `check` and by an `up` that finds it
// already running: the instance-id the lab gives it now (its seed's), its clone origin from its
// provenance record, and the forwards it serves now (the lab's and those added while it runs).
// First, a guest a killed `template save` left paused is resumed (templates/save.hpp).
#pragma once

#include "cli/lab_context.hpp"
#include "readiness/gates.hpp"

#include <vector>

namespace kvmrun::cli {

[[nodiscard]] Result<readiness::GateTarget> recheck_target(const LabContext& ctx,
                                                           const lab::InstanceSpec& instance,
                                                           std::vector<readiness::Peer> peers);

} // namespace kvmrun::cli
