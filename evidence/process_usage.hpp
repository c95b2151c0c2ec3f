// What a process has cost the host: CPU time (user, system) and peak resident memory. For the
// calling process from getrusage and /proc/self, for any other from /proc/PID (the QEMUs kvmrun
// starts are not its children once detached, so getrusage cannot see them).
#pragma once

#include "base/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>

namespace kvmrun::evidence {

struct Usage {
  std::chrono::microseconds user{0};
  std::chrono::microseconds system{0};
  std::int64_t peak_rss_kib = 0; // VmHWM
  std::int64_t rss_kib = 0;      // VmRSS (process_usage only)
  std::int64_t minor_faults = 0; // minflt, majflt (from /proc/PID/stat only)
  std::int64_t major_faults = 0;
  [[nodiscard]] std::chrono::microseconds cpu() const { return user + system; }
};

// This process's CPU so far (every thread, plus the children it has reaped) and its VmHWM.
[[nodiscard]] Usage own_usage();

// Sets this process's VmHWM back to its current resident size (/proc/self/clear_refs), so the
// next own_usage() shows the peak of what runs in between.
[[nodiscard]] Status reset_own_peak_rss();

// The CPU (utime, stime), page faults, VmHWM and VmRSS of process `pid` so far, from
// /proc/PID/stat and status.
[[nodiscard]] Result<Usage> process_usage(pid_t pid);

// Parses the text of /proc/PID/stat (the command name may hold spaces and parentheses).
[[nodiscard]] Result<Usage> parse_proc_stat(std::string_view stat, long ticks_per_second);

// The VmHWM line of /proc/PID/status text, in KiB (0 when the text has none: a kernel thread).
[[nodiscard]] std::int64_t parse_vm_hwm(std::string_view status);

} // namespace kvmrun::evidence
