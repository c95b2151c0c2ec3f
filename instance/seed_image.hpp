// The seed ISO of one instance: its cloud-init documents rendered and packed into a cidata
// ISO image, in memory. Pure; writing the file is the caller's business.
#pragma once

#include "base/result.hpp"
#include "lab/lab_spec.hpp"
#include "seeds/cloud_init.hpp"

#include <string>

namespace kvmrun::instance {

struct SeedImage {
  seeds::SeedDocuments documents;
  std::string iso; // the image bytes
};

[[nodiscard]] Result<SeedImage> build_seed_image(const lab::InstanceSpec& instance);

} // namespace kvmrun::instance
