#include "instance/seed_image.hpp"

#include "seeds/iso9660.hpp"

namespace kvmrun::instance {

Result<SeedImage> build_seed_image(const lab::InstanceSpec& instance) {
  auto documents = seeds::render_seed(instance.seed);
  if (!documents)
    return std::move(documents).error();
  const auto files = seeds::seed_files(*documents);
  auto iso = seeds::build_iso9660(files, seeds::IsoOptions{});
  if (!iso)
    return std::move(iso).error().add_context("building the seed ISO of " + instance.name);
  return SeedImage{std::move(documents).value(), std::move(iso).value()};
}

} // namespace kvmrun::instance
