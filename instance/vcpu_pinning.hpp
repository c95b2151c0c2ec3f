// vCPU pinning: each of the instance's vCPU threads (QMP query-cpus-fast gives their thread ids)
// bound to one host CPU of its `cpu_affinity` list, vCPU i to entry i modulo the list's length.
// `up` pins once QMP answers; `check` verifies the threads still are where they were put.
#pragma once

#include "base/result.hpp"
#include "qmp/qmp_client.hpp"

#include <vector>

namespace kvmrun::instance {

// "vCPU 0 -> host CPU 1, ...". ErrorCode::host when a CPU is not one this process may use.
[[nodiscard]] Result<std::string> pin_vcpus(qmp::QmpClient& qmp, const std::vector<unsigned>& cpus,
                                            Deadline deadline);
// The same description when every vCPU thread is allowed exactly its CPU; ErrorCode::guest
// naming the thread and where it may run otherwise.
[[nodiscard]] Result<std::string>
verify_vcpu_pinning(qmp::QmpClient& qmp, const std::vector<unsigned>& cpus, Deadline deadline);

} // namespace kvmrun::instance
