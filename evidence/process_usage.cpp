#include "evidence/process_usage.hpp"

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace kvmrun::evidence {

namespace {

std::chrono::microseconds micros(const timeval& t) {
  return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
}

std::optional<std::int64_t> number(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

// The kB value of a /proc/PID/status line such as "VmHWM:\t  7480 kB" (0 when absent).
std::int64_t status_kib(std::string_view status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string_view::npos)
    return 0;
  auto rest = status.substr(at + key.size());
  rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
  return number(rest.substr(0, rest.find_first_not_of("0123456789"))).value_or(0);
}

} // namespace

std::int64_t parse_vm_hwm(std::string_view status) { return status_kib(status, "VmHWM:"); }

Result<Usage> parse_proc_stat(std::string_view stat, long ticks_per_second) {
  // "PID (COMM) STATE PPID ...": fields counted after the last ')'; utime and stime are the
  // 14th and 15th of the whole line, the 12th and 13th after it.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0)
    return Error(ErrorCode::io, "unexpected /proc/PID/stat text (no command name)");
  std::string_view rest = stat.substr(close + 1);
  std::vector<std::string_view> fields;
  while (!rest.empty()) {
    rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
    const auto end = std::min(rest.find_first_of(" \n"), rest.size());
    if (end > 0)
      fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
    if (!rest.empty() && rest.front() == '\n')
      break;
  }
  const auto utime = fields.size() > 12 ? number(fields[11]) : std::nullopt;
  const auto stime = fields.size() > 12 ? number(fields[12]) : std::nullopt;
  if (!utime || !stime)
    return Error(ErrorCode::io, "unexpected /proc/PID/stat text (no utime/stime)");
  const auto ticks = [&](std::int64_t t) {
    return std::chrono::microseconds(t * 1'000'000 / ticks_per_second);
  };
  Usage u;
  u.user = ticks(*utime);
  u.system = ticks(*stime);
  // minflt and majflt are the 10th and 12th of the whole line.
  u.minor_faults = number(fields[7]).value_or(0);
  u.major_faults = number(fields[9]).value_or(0);
  return u;
}

Usage own_usage() {
  Usage u;
  rusage self{};
  rusage children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  u.user = micros(self.ru_utime) + micros(children.ru_utime);
  u.system = micros(self.ru_stime) + micros(children.ru_stime);
  if (auto status = read_file("/proc/self/status", 1U << 20U))
    u.peak_rss_kib = parse_vm_hwm(*status);
  return u;
}

Status reset_own_peak_rss() {
  UniqueFd fd(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
  if (!fd.valid())
    return system_error(ErrorCode::io, "opening /proc/self/clear_refs", errno);
  if (::write(fd.get(), "5", 1) != 1)
    return system_error(ErrorCode::io, "resetting the peak RSS (/proc/self/clear_refs)", errno);
  return {};
}

Result<Usage> process_usage(pid_t pid) {
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  auto stat = read_file(proc / "stat", 1U << 20U);
  if (!stat)
    return std::move(stat).error();
  auto u = parse_proc_stat(*stat, ::sysconf(_SC_CLK_TCK));
  if (!u)
    return std::move(u).error().add_context("reading " + (proc / "stat").string());
  auto status = read_file(proc / "status", 1U << 20U);
  if (!status)
    return std::move(status).error();
  u->peak_rss_kib = parse_vm_hwm(*status);
  u->rss_kib = status_kib(*status, "VmRSS:");
  return u;
}

} // namespace kvmrun::evidence
