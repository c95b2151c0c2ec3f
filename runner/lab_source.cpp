#include "runner/lab_source.hpp"

#include "lab/loader.hpp"

namespace kvmrun::runner {

Result<lab::LabSpec> resolve_lab(const std::optional<std::filesystem::path>& config,
                                 const std::filesystem::path& working_dir) {
  if (config)
    return lab::load_lab(*config);
  const auto local = working_dir / "kvmrun.toml";
  std::error_code ec;
  if (std::filesystem::exists(local, ec))
    return lab::load_lab(local);
  return Error(ErrorCode::config,
               "no lab definition: no --config and no kvmrun.toml in " + working_dir.string(),
               "pass --config FILE (examples are in configs/) or create kvmrun.toml");
}

} // namespace kvmrun::runner
