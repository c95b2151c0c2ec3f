// Base images as instances use them: the cache source of a lab's catalog entry, and which
// cached files instance disks still sit on (what `image prune` must keep).
#pragma once

#include "images/cache.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <set>

namespace kvmrun::instance {

// The cache source for a catalog entry.
[[nodiscard]] images::ImageSource image_source(const lab::ImageSpec& spec);

// Every file that a qcow2 image under `state_dir` uses as a backing file (directly or down
// its chain), canonicalised: what `image prune` must keep.
[[nodiscard]] std::set<std::filesystem::path> bases_in_use(const std::filesystem::path& state_dir);

// Each qcow2 image under `dir` with the files down its backing chain (canonicalised): who uses
// what, for refusals that must name the user (a template's clones).
struct BackingChain {
  std::filesystem::path image;
  std::vector<std::filesystem::path> backing;
};
[[nodiscard]] std::vector<BackingChain> backing_chains(const std::filesystem::path& dir);

} // namespace kvmrun::instance
