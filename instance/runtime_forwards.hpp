// Forwards added to a running instance by `kvmrun forward add`, recorded in its runtime
// directory (<runtime>/forwards.json) so that `status`, `check`, `forward list` and a later
// kvmrun know them; the file goes with the instance's other runtime files when it stops. A
// damaged or edited record is an ErrorCode::io error naming the file and the field.
#pragma once

#include "base/result.hpp"
#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"

#include <vector>

namespace kvmrun::instance {

// None when there is no record.
[[nodiscard]] Result<std::vector<lab::PortForward>>
read_runtime_forwards(const InstancePaths& paths);
// The instance's forwards now: those the lab declares, then those added at run time.
[[nodiscard]] Result<std::vector<lab::PortForward>>
current_forwards(const lab::InstanceSpec& instance, const InstancePaths& paths);

[[nodiscard]] Status write_runtime_forwards(const InstancePaths& paths,
                                            const std::vector<lab::PortForward>& forwards);

} // namespace kvmrun::instance
