#include "instance/vcpu_pinning.hpp"

#include "qmp/commands.hpp"

#include <sched.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace kvmrun::instance {

namespace {

struct VcpuThread {
  std::int64_t index = 0;
  pid_t tid = 0;
};

Result<std::vector<VcpuThread>> vcpu_threads(qmp::QmpClient& qmp, Deadline deadline) {
  auto cpus = qmp::query_cpus_fast(qmp, deadline);
  if (!cpus)
    return std::move(cpus).error();
  std::vector<VcpuThread> threads;
  for (const auto& v : *cpus) {
    const auto* o = v.if_object();
    const auto* index = o ? o->if_contains("cpu-index") : nullptr;
    const auto* tid = o ? o->if_contains("thread-id") : nullptr;
    if (index == nullptr || tid == nullptr || !index->is_int64() || !tid->is_int64() ||
        tid->as_int64() <= 0 || tid->as_int64() > INT_MAX)
      return Error(ErrorCode::protocol, "query-cpus-fast gave a vCPU without cpu-index/thread-id");
    threads.push_back({index->as_int64(), static_cast<pid_t>(tid->as_int64())});
  }
  return threads;
}

unsigned cpu_for(const std::vector<unsigned>& cpus, std::int64_t index) {
  return cpus[static_cast<std::size_t>(index) % cpus.size()];
}

std::string describe(const std::vector<VcpuThread>& threads, const std::vector<unsigned>& cpus) {
  std::string text;
  for (const auto& t : threads)
    text.append(text.empty() ? "" : ", ")
        .append("vCPU ")
        .append(std::to_string(t.index))
        .append(" -> host CPU ")
        .append(std::to_string(cpu_for(cpus, t.index)));
  return text;
}

std::string allowed_text(const cpu_set_t& set) {
  std::string text;
  for (unsigned c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set))
      text.append(text.empty() ? "" : ",").append(std::to_string(c));
  return text.empty() ? "none" : text;
}

} // namespace

Result<std::string> pin_vcpus(qmp::QmpClient& qmp, const std::vector<unsigned>& cpus,
                              Deadline deadline) {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (::sched_getaffinity(0, sizeof mine, &mine) != 0)
    return system_error(ErrorCode::host, "reading this process's CPU affinity", errno);
  for (const unsigned c : cpus)
    if (c >= CPU_SETSIZE || !CPU_ISSET(c, &mine))
      return Error(ErrorCode::host,
                   "cpu_affinity names host CPU " + std::to_string(c) +
                       ", which kvmrun may not use here (it may use " + allowed_text(mine) + ")",
                   "list CPUs from that set in cpu_affinity");
  auto threads = vcpu_threads(qmp, deadline);
  if (!threads)
    return std::move(threads).error();
  for (const auto& t : *threads) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu_for(cpus, t.index), &one);
    if (::sched_setaffinity(t.tid, sizeof one, &one) != 0)
      return system_error(ErrorCode::host,
                          "pinning vCPU " + std::to_string(t.index) + " (thread " +
                              std::to_string(t.tid) + ")",
                          errno);
  }
  return describe(*threads, cpus);
}

Result<std::string> verify_vcpu_pinning(qmp::QmpClient& qmp, const std::vector<unsigned>& cpus,
                                        Deadline deadline) {
  auto threads = vcpu_threads(qmp, deadline);
  if (!threads)
    return std::move(threads).error();
  for (const auto& t : *threads) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(t.tid, sizeof set, &set) != 0)
      return system_error(ErrorCode::host,
                          "reading the affinity of vCPU thread " + std::to_string(t.tid), errno);
    const unsigned want = cpu_for(cpus, t.index);
    if (CPU_COUNT(&set) != 1 || !CPU_ISSET(want, &set))
      return Error(ErrorCode::guest,
                   "vCPU " + std::to_string(t.index) + " may run on host CPU(s) " +
                       allowed_text(set) + ", not only on " + std::to_string(want),
                   "something changed its affinity since `up`; `kvmrun down` then `up` pins "
                   "it again");
  }
  return describe(*threads, cpus);
}

} // namespace kvmrun::instance
