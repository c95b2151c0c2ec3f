#include "instance/base_images.hpp"

namespace kvmrun::instance {

images::ImageSource image_source(const lab::ImageSpec& spec) {
  images::ImageSource s;
  s.name = spec.name;
  s.url = spec.url;
  s.digest = spec.checksum;
  s.checksum_url = spec.checksum_url;
  s.format = spec.format;
  s.policy.allow_http = spec.allow_http;
  s.policy.ca_file = spec.ca_file;
  s.check = spec.verify_in_full ? images::CacheCheck::full : images::CacheCheck::quick;
  s.manifest_max_age = spec.checksum_refresh;
  return s;
}

std::vector<BackingChain> backing_chains(const std::filesystem::path& dir) {
  std::vector<BackingChain> chains;
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(
      dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 6) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->path().extension() != ".qcow2")
      continue;
    auto chain = images::inspect_chain(it->path(), DiskFormat::qcow2);
    if (!chain || chain->size() < 2)
      continue;
    BackingChain c{it->path(), {}};
    for (std::size_t i = 1; i < chain->size(); ++i) {
      std::error_code cec;
      const auto canonical = std::filesystem::weakly_canonical((*chain)[i].path, cec);
      c.backing.push_back(cec ? (*chain)[i].path : canonical);
    }
    chains.push_back(std::move(c));
  }
  return chains;
}

std::set<std::filesystem::path> bases_in_use(const std::filesystem::path& state_dir) {
  std::set<std::filesystem::path> used;
  for (const auto& c : backing_chains(state_dir))
    used.insert(c.backing.begin(), c.backing.end());
  return used;
}

} // namespace kvmrun::instance
