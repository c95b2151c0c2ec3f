// Which lab a command works on: --config FILE, else kvmrun.toml in the current directory, else
// the built-in default lab: one debian-12 guest (images/recipes/debian-12, built from Debian
// packages by scripts/run) from the image cache's guests/debian-12 directory.
#pragma once

#include "base/result.hpp"
#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <string>

namespace kvmrun::cli {

[[nodiscard]] Result<lab::LabSpec> resolve_lab(const ParsedArgs& args, const CliEnvironment& env);

// The default lab's TOML, its image URLs under `cache_dir`.
[[nodiscard]] std::string default_lab_text(const std::filesystem::path& cache_dir);

} // namespace kvmrun::cli
