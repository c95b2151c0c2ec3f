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

Result<Qcow2Spec> plan_layer_overlay(const std::filesystem::path& layer) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(layer, ec);
  auto chain = inspect_chain(ec ? layer : absolute, DiskFormat::qcow2);
  if (!chain)
    return std::move(chain).error().add_context("checking the chain under " + layer.string());
  for (const auto& image : *chain)
    if (!image.problems.empty()) {
      std::string why;
      for (const auto& r : image.problems)
        why += (why.empty() ? "" : "; ") + r;
      return Error(ErrorCode::disk,
                   image.path.string() + " (under " + layer.string() + ") is not safe: " + why,
                   "save the template again from a healthy instance");
    }
  Qcow2Spec spec;
  spec.virtual_size = (chain->front().virtual_size + 511) / 512 * 512;
  spec.backing_file = (ec ? layer : absolute).string();
  spec.backing_format = DiskFormat::qcow2;
  return spec;
}

} // namespace kvmrun::images
