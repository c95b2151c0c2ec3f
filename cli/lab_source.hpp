// Which lab a command works on: --config FILE, else the file $KVMRUN_CONFIG names, else
// kvmrun.toml in the current directory, else the built-in default lab (one debian-12 guest).
// Built-in images (lab/builtin_images) that the lab names are resolved here: the local build of
// their recipe in the image cache's guests/<name> directory when there is one, else Debian's
// official cloud image.
#pragma once

#include "base/result.hpp"
#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <string>

namespace kvmrun::cli {

// The source the built-in default lab is loaded under (LabSpec::source).
inline constexpr std::string_view builtin_lab_source = "<built-in default lab>";

[[nodiscard]] Result<lab::LabSpec> resolve_lab(const ParsedArgs& args, const CliEnvironment& env);

// The default lab's TOML.
[[nodiscard]] std::string_view default_lab_text();

// Points each built-in image of `lab` at its recipe's build under `cache_dir`/guests when one
// is there; otherwise leaves the official source and says how to build one.
void resolve_builtin_images(lab::LabSpec& lab, const std::filesystem::path& cache_dir);

} // namespace kvmrun::cli
