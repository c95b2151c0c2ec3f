// Planning a qcow2 overlay over a base image: the base's header is read as hostile input before
// anything refers to it.
#pragma once

#include "base/result.hpp"
#include "images/qcow2.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace kvmrun::images {

// A new overlay over `base`, whose header is inspected first as `base_format` (never probed):
// a base with a backing file, an external data file, unknown incompatible features, the
// corrupt bit or encryption is refused. The backing file is recorded as an absolute path with
// its format. `size` (default: the base's) may grow the disk, never shrink it.
[[nodiscard]] Result<Qcow2Spec> plan_overlay(const std::filesystem::path& base,
                                             DiskFormat base_format,
                                             std::optional<std::uint64_t> size);

// A new overlay over `layer`, a qcow2 image that itself sits on a chain (a template's disk over
// its base image): the whole chain is inspected, each image as hostile input (problems refused
// as above, a missing link or loop refused); only the bottom one must stand alone. The overlay
// has the layer's size.
[[nodiscard]] Result<Qcow2Spec> plan_layer_overlay(const std::filesystem::path& layer);

} // namespace kvmrun::images
