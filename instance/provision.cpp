#include "instance/provision.hpp"

#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "images/overlay.hpp"
#include "instance/seed_image.hpp"

namespace kvmrun::instance {

namespace {

bool present(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(p, ec));
}

// An existing instance disk must still be an overlay of this base, or the guest would boot a
// disk whose blocks belong to another image.
Status check_existing_overlay(const ProvisionInput& in) {
  const auto info = images::inspect_image(in.paths.disk(), DiskFormat::qcow2);
  if (!info)
    return Error(info.error()).add_context("checking the existing disk of " + in.instance.name);
  std::error_code ec;
  const auto recorded = std::filesystem::weakly_canonical(info->backing_file, ec);
  const auto wanted = std::filesystem::weakly_canonical(in.base, ec);
  if (recorded == wanted)
    return {};
  return Error(ErrorCode::disk,
               "instance '" + in.instance.name + "': its disk " + in.paths.disk().string() +
                   " is an overlay of " +
                   (info->backing_file.empty() ? std::string("nothing") : info->backing_file) +
                   ", not of the lab's base image " + in.base.string(),
               "the image changed since the disk was made; keep the disk by restoring the old "
               "image, or start over with `kvmrun down --purge-disks " +
                   in.instance.name + "`");
}

} // namespace

std::vector<std::string> describe_provisioning(const ProvisionInput& in) {
  std::vector<std::string> lines;
  const auto& p = in.paths;
  lines.push_back((present(p.disk()) ? "keep   " : "create ") + p.disk().string() +
                  " (qcow2 overlay of " + in.base.string() + ")");
  for (std::size_t k = 0; k < in.instance.disks.size(); ++k) {
    const auto& d = in.instance.disks[k];
    lines.push_back((present(p.extra_disk(d.name)) ? "keep   " : "create ") +
                    p.extra_disk(d.name).string() +
                    (k < in.extra_disk_bases.size()
                         ? " (qcow2 overlay of " + in.extra_disk_bases[k].string() + ")"
                         : " (blank qcow2, " + std::to_string(d.size_bytes) + " bytes)"));
  }
  lines.push_back("write  " + p.seed().string() + " (cloud-init NoCloud seed)");
  if (in.uefi_vars_template && !present(p.efi_vars()))
    lines.push_back("create " + p.efi_vars().string() + " (copy of " +
                    in.uefi_vars_template->string() + ")");
  return lines;
}

Result<Provisioned> provision_instance(const ProvisionInput& in) {
  const auto& p = in.paths;
  const std::string what = "provisioning " + in.instance.name;
  Provisioned out;
  if (auto made = create_private_dirs(p.state); !made)
    return std::move(made).error().add_context(what);

  if (present(p.disk())) {
    if (auto same = check_existing_overlay(in); !same)
      return std::move(same).error();
    out.kept.push_back(p.disk().string());
  } else {
    auto plan = in.clone ? images::plan_layer_overlay(in.base)
                         : images::plan_overlay(in.base, in.base_format, in.instance.disk_bytes);
    if (!plan)
      return std::move(plan).error().add_context(what);
    // A new clone is marked before its disk exists, so no crash leaves a fresh clone disk that
    // would be booted instead of restored.
    if (in.clone)
      if (auto marked = write_file_atomic(p.clone_pending(), "restore\n", 0600); !marked)
        return std::move(marked).error().add_context(what);
    if (auto made = images::create_qcow2(p.disk(), *plan, Durability::file_synced); !made)
      return std::move(made).error().add_context(what);
    out.created.push_back(p.disk().string());
  }
  for (std::size_t k = 0; k < in.instance.disks.size(); ++k) {
    const auto& d = in.instance.disks[k];
    const auto file = p.extra_disk(d.name);
    if (present(file)) {
      out.kept.push_back(file.string());
      continue;
    }
    images::Qcow2Spec disk;
    disk.virtual_size = d.size_bytes;
    if (k < in.extra_disk_bases.size()) {
      auto plan = images::plan_overlay(in.extra_disk_bases[k], DiskFormat::qcow2, std::nullopt);
      // A template's extra disk stands alone (it was made blank); its overlay is a layer.
      if (!plan)
        return std::move(plan).error().add_context(what);
      disk = *plan;
    }
    if (auto made = images::create_qcow2(file, disk, Durability::file_synced); !made)
      return std::move(made).error().add_context(what);
    out.created.push_back(file.string());
  }

  auto seed = build_seed_image(in.instance);
  if (!seed)
    return std::move(seed).error().add_context(what);
  if (auto wrote = write_file_atomic(p.seed(), seed->iso, 0600, Durability::file_synced); !wrote)
    return std::move(wrote).error().add_context(what);
  out.instance_id = seed->documents.instance_id;
  out.seed_sha256 = sha256_hex(seed->iso);

  if (in.uefi_vars_template && !present(p.efi_vars())) {
    auto vars = read_file(*in.uefi_vars_template, 64U << 20U);
    if (!vars)
      return std::move(vars).error().add_context(what);
    if (auto made = create_file_exclusive(p.efi_vars(), *vars, 0600, Durability::file_synced);
        !made)
      return std::move(made).error().add_context(what);
    out.created.push_back(p.efi_vars().string());
  }
  if (auto synced = sync_directory(p.state); !synced)
    return std::move(synced).error().add_context(what);
  return out;
}

} // namespace kvmrun::instance
