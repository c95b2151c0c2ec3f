// Provisioning one instance: everything QEMU will open, created in the instance's state
// directory from the verified base image. Disks are never replaced: an existing overlay is
// kept (its guest's data survives `down` and a later `up`) after checking it still sits on the
// lab's base; the seed is regenerated each time. Files are fsynced one by one and the directory
// once at the end.
#pragma once

#include "base/result.hpp"
#include "images/qcow2.hpp"
#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kvmrun::instance {

struct ProvisionInput {
  const lab::InstanceSpec& instance;
  InstancePaths paths;
  std::filesystem::path base; // the verified cache entry
  DiskFormat base_format = DiskFormat::qcow2;
  std::optional<std::filesystem::path> uefi_vars_template; // firmware = "uefi"
  // A clone (templates/): each extra disk is an overlay of its template's (in the instance's
  // order) instead of blank, and the clone is marked to be restored (clone_pending).
  std::vector<std::filesystem::path> extra_disk_bases;
  bool clone = false;
};

struct Provisioned {
  std::string instance_id;
  std::string seed_sha256;
  std::vector<std::string> created; // files made this time, for the log
  std::vector<std::string> kept;    // disks that already existed
};

[[nodiscard]] Result<Provisioned> provision_instance(const ProvisionInput& input);

// What `up --dry-run` says provisioning would do, one line per file.
[[nodiscard]] std::vector<std::string> describe_provisioning(const ProvisionInput& input);

} // namespace kvmrun::instance
