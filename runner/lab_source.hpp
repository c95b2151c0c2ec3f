// Which lab a command works on: --config FILE, else kvmrun.toml in the current directory.
#pragma once

#include "base/result.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <optional>

namespace kvmrun::runner {

[[nodiscard]] Result<lab::LabSpec> resolve_lab(const std::optional<std::filesystem::path>& config,
                                               const std::filesystem::path& working_dir);

} // namespace kvmrun::runner
