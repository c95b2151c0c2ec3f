#include "images/overlay.hpp"

namespace kvmrun::images {

Result<Qcow2Spec> plan_overlay(const std::filesystem::path& base, DiskFormat base_format,
                               std::optional<std::uint64_t> size) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(base, ec);
  auto info = inspect_image(ec ? base : absolute, base_format);
  if (!info)
    return std::move(info).error().add_context("checking the base image");
  if (const auto reasons = info->unsafe_as_base(); !reasons.empty()) {
    std::string why;
    for (const auto& r : reasons)
      why += (why.empty() ? "" : "; ") + r;
    return Error(ErrorCode::disk, base.string() + " is not safe as a base image: " + why,
                 "use a verified, standalone image (kvmrun image fetch verifies downloads)");
  }
  Qcow2Spec spec;
  spec.virtual_size = (info->virtual_size + 511) / 512 * 512;
  if (size) {
    if (*size < info->virtual_size)
      return Error(ErrorCode::disk,
                   "an overlay cannot be smaller than its base (" +
                       std::to_string(info->virtual_size) + " bytes)",
                   "give a size of at least the base's, or none");
    spec.virtual_size = (*size + 511) / 512 * 512;
  }
  spec.backing_file = (ec ? base : absolute).string();
  spec.backing_format = base_format;
  return spec;
}

} // namespace kvmrun::images
