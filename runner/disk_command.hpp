// `kvmrun disk overlay|create|info`: qcow2 images made and inspected in-process.
#pragma once

#include "base/result.hpp"
#include "images/qcow2.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace kvmrun::runner {

// A new overlay over `base`, whose header is inspected first as `base_format` (never probed):
// a base with a backing file, an external data file, unknown incompatible features, the
// corrupt bit or encryption is refused. The backing file is recorded as an absolute path with
// its format. `size` (default: the base's) may grow the disk, never shrink it.
[[nodiscard]] Result<images::Qcow2Spec> plan_overlay(const std::filesystem::path& base,
                                                     images::DiskFormat base_format,
                                                     std::optional<std::uint64_t> size);

// The chain as human-readable text and as JSON, with a verdict per image.
[[nodiscard]] std::string render_chain_text(const std::vector<images::ImageInfo>& chain);
[[nodiscard]] std::string render_chain_json(const std::vector<images::ImageInfo>& chain);

} // namespace kvmrun::runner
