#include "runner/disk_command.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace kvmrun::runner {

Result<images::Qcow2Spec> plan_overlay(const std::filesystem::path& base,
                                       images::DiskFormat base_format,
                                       std::optional<std::uint64_t> size) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(base, ec);
  auto info = images::inspect_image(ec ? base : absolute, base_format);
  if (!info)
    return std::move(info).error().add_context("checking the base image");
  if (const auto reasons = info->unsafe_as_base(); !reasons.empty()) {
    std::string why;
    for (const auto& r : reasons)
      why += (why.empty() ? "" : "; ") + r;
    return Error(ErrorCode::disk, base.string() + " is not safe as a base image: " + why,
                 "use a verified, standalone image (kvmrun image fetch verifies downloads)");
  }
  images::Qcow2Spec spec;
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

namespace {

std::string verdict(const images::ImageInfo& info, bool is_top) {
  if (!info.problems.empty())
    return "unsafe";
  if (info.has_backing())
    return is_top ? "overlay" : "unsafe";
  return "safe as a base";
}

} // namespace

std::string render_chain_text(const std::vector<images::ImageInfo>& chain) {
  std::string text;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& info = chain[i];
    const std::string pad(i * 2, ' ');
    text += pad + info.path.string() + "\n";
    text += pad + "  format: " + std::string(images::to_string(info.format)) +
            (info.format == images::DiskFormat::qcow2 ? " v" + std::to_string(info.version) : "") +
            "\n";
    text += pad + "  virtual size: " + std::to_string(info.virtual_size) + " bytes\n";
    text += pad + "  file size: " + std::to_string(info.file_size) + " bytes\n";
    if (info.format == images::DiskFormat::qcow2) {
      text += pad + "  cluster size: " + std::to_string(1ULL << info.cluster_bits) + " bytes\n";
      if (info.has_backing())
        text += pad + "  backing file: " + info.backing_file + " (format " +
                (info.backing_format_text.empty() ? "not recorded" : info.backing_format_text) +
                ")\n";
    }
    for (const auto& p : info.problems)
      text += pad + "  problem: " + p + "\n";
    for (const auto& n : info.notes)
      text += pad + "  note: " + n + "\n";
    text += pad + "  verdict: " + verdict(info, i == 0) + "\n";
  }
  return text;
}

std::string render_chain_json(const std::vector<images::ImageInfo>& chain) {
  boost::json::array images;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& info = chain[i];
    boost::json::object o{{"path", info.path.string()},
                          {"format", images::to_string(info.format)},
                          {"virtual_size", info.virtual_size},
                          {"file_size", info.file_size}};
    if (info.format == images::DiskFormat::qcow2) {
      o["version"] = info.version;
      o["cluster_size"] = 1ULL << info.cluster_bits;
      o["refcount_bits"] = info.refcount_bits;
      o["incompatible_features"] = info.incompatible_features;
      o["compatible_features"] = info.compatible_features;
      o["autoclear_features"] = info.autoclear_features;
      o["dirty"] = info.dirty();
      o["corrupt"] = info.corrupt();
      o["external_data_file"] = info.external_data() || !info.data_file.empty();
      o["encrypted"] = info.crypt_method != 0;
      o["snapshots"] = info.snapshots;
      if (info.has_backing()) {
        o["backing_file"] = info.backing_file;
        o["backing_format"] = info.backing_format_text;
      }
    }
    boost::json::array problems, notes;
    for (const auto& p : info.problems)
      problems.emplace_back(p);
    for (const auto& n : info.notes)
      notes.emplace_back(n);
    o["problems"] = std::move(problems);
    o["notes"] = std::move(notes);
    o["verdict"] = verdict(info, i == 0);
    images.push_back(std::move(o));
  }
  return boost::json::serialize(boost::json::object{{"chain", std::move(images)}}) + "\n";
}

} // namespace kvmrun::runner
