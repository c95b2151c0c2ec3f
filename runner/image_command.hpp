// `kvmrun image fetch|list|verify|prune`: the image cache as users see it.
#pragma once

#include "images/cache.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <set>

namespace kvmrun::runner {

// The cache source for a catalog entry.
[[nodiscard]] images::ImageSource image_source(const lab::ImageSpec& spec);

// Every file that a qcow2 image under `state_dir` uses as a backing file (directly or down
// its chain), canonicalised: what `image prune` must keep.
[[nodiscard]] std::set<std::filesystem::path> bases_in_use(const std::filesystem::path& state_dir);

// A progress bar on a terminal, redrawn at most ten times a second; nothing otherwise.
[[nodiscard]] images::ProgressSink terminal_progress(std::string label, bool is_terminal);

} // namespace kvmrun::runner
