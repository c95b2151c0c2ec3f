// What this binary is: kvmrun's version and the versions of the libraries linked into it.
#pragma once

#include <string>

namespace kvmrun::runner {

[[nodiscard]] std::string kvmrun_version();
// Several lines: kvmrun's version, then one line per linked library.
[[nodiscard]] std::string version_report();

} // namespace kvmrun::runner
