#include "host/host_facts.hpp"

#include "host/facts_cache.hpp"

#include "base/subprocess.hpp"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace kvmrun::host {

std::optional<QemuVersion> parse_qemu_version(std::string_view output) {
  constexpr std::string_view marker = "version ";
  const auto at = output.find(marker);
  if (at == std::string_view::npos)
    return std::nullopt;
  std::string_view rest = output.substr(at + marker.size());
  QemuVersion v;
  int* parts[] = {&v.major, &v.minor, &v.micro};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), *parts[i]);
    if (ec != std::errc())
      return i >= 2 ? std::optional(v) : std::nullopt; // "8.0" has no micro part
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    if (i < 2) {
      if (rest.empty() || rest.front() != '.')
        return i >= 1 ? std::optional(v) : std::nullopt;
      rest.remove_prefix(1);
    }
  }
  return v;
}

std::string to_string(const QemuVersion& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.micro);
}

std::string group_name(unsigned gid, const std::filesystem::path& group_file) {
  std::ifstream in(group_file);
  std::string line;
  while (std::getline(in, line)) {
    // name:password:gid:members
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    const auto third = second == std::string::npos ? second : line.find(':', second + 1);
    if (third == std::string::npos)
      continue;
    unsigned value = 0;
    const char* begin = line.data() + second + 1;
    const char* end = line.data() + third;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc() && ptr == end && value == gid)
      return line.substr(0, first);
  }
  return std::to_string(gid);
}

namespace {

QemuFacts gather_qemu(const HostPaths& paths, FactsCache& cache) {
  QemuFacts facts;
  facts.program = paths.qemu_program;
  facts.path = find_executable(paths.qemu_program, paths.search_path);
  if (!facts.path)
    return facts;
  const auto key = qemu_key(*facts.path);
  if (key)
    if (auto line = cache.qemu_version_line(*key)) {
      facts.version_line = *line;
      return facts;
    }
  auto out = run_command({facts.path->string(), "--version"},
                         CommandOptions{std::chrono::milliseconds(5000), 64 * 1024});
  if (!out) {
    facts.error = out.error().describe();
    return facts;
  }
  if (!out->success()) {
    const std::string program = facts.path->string();
    const std::string ended = out->signaled ? "signal " + std::to_string(out->signal)
                                            : "exit " + std::to_string(out->exit_code);
    facts.error = "'" + program + " --version' failed (" + ended + ")";
    if (!out->err.empty()) {
      const std::string first_line = out->err.substr(0, out->err.find('\n'));
      facts.error += ": " + first_line;
    }
    return facts;
  }
  facts.version_line = out->out.substr(0, out->out.find('\n'));
  if (key && !facts.version_line.empty())
    cache.remember(*key, facts.version_line);
  return facts;
}

bool process_in_group(gid_t gid) {
  if (::getegid() == gid)
    return true;
  const int n = ::getgroups(0, nullptr);
  if (n <= 0)
    return false;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  const int got = ::getgroups(n, groups.data());
  return got > 0 && std::find(groups.begin(), groups.begin() + got, gid) != groups.begin() + got;
}

KvmDeviceFacts gather_kvm_device(const HostPaths& paths) {
  KvmDeviceFacts facts;
  facts.path = paths.dev_kvm;
  struct stat st {};
  if (::stat(paths.dev_kvm.c_str(), &st) != 0)
    return facts;
  facts.exists = true;
  facts.is_char_device = S_ISCHR(st.st_mode);
  facts.mode = st.st_mode & 07777U;
  facts.group = group_name(st.st_gid, paths.group_file);
  facts.user_in_group = process_in_group(st.st_gid);
  const int fd = ::open(paths.dev_kvm.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    facts.open_errno = errno;
  else
    ::close(fd);
  return facts;
}

std::optional<std::filesystem::path> first_readable(const std::vector<std::filesystem::path>& c) {
  for (const auto& p : c) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec) && std::filesystem::file_size(p, ec) > 0 && !ec &&
        ::access(p.c_str(), R_OK) == 0)
      return p;
  }
  return std::nullopt;
}

SpaceFacts gather_space(const std::string& role, const std::filesystem::path& dir) {
  SpaceFacts facts;
  facts.role = role;
  facts.dir = dir;
  std::filesystem::path probe = dir;
  std::error_code ec;
  while (!std::filesystem::exists(probe, ec) && probe.has_parent_path() &&
         probe != probe.parent_path())
    probe = probe.parent_path();
  facts.probed = probe;
  struct statvfs vfs {};
  if (::statvfs(probe.c_str(), &vfs) != 0) {
    facts.error = std::string("statvfs failed: ") + std::strerror(errno);
    return facts;
  }
  facts.free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  facts.writable = ::access(probe.c_str(), W_OK | X_OK) == 0 && (vfs.f_flag & ST_RDONLY) == 0;
  return facts;
}

} // namespace

std::string probe_io_uring() {
  io_uring_params params{};
  const long fd = ::syscall(__NR_io_uring_setup, 1, &params);
  if (fd < 0)
    return std::string("io_uring_setup: ") + std::strerror(errno);
  ::close(static_cast<int>(fd));
  return {};
}

FirmwareFacts gather_firmware(const HostPaths& paths) {
  FirmwareFacts facts;
  facts.bios_searched = paths.bios;
  facts.bios = first_readable(paths.bios);
  const auto first_pair = [](const std::vector<UefiPair>& pairs,
                             std::vector<std::filesystem::path>& searched) {
    std::optional<UefiPair> found;
    for (const auto& pair : pairs) {
      searched.push_back(pair.code);
      if (!found && first_readable({pair.code}) && first_readable({pair.vars}))
        found = pair;
    }
    return found;
  };
  facts.uefi = first_pair(paths.uefi, facts.uefi_searched);
  facts.secure = first_pair(paths.uefi_secure, facts.secure_searched);
  return facts;
}

HostFacts gather_host_facts(const HostPaths& paths) {
  FactsCache cache(paths.facts_cache);
  HostFacts facts;
  facts.qemu = gather_qemu(paths, cache);
  facts.kvm_device = gather_kvm_device(paths);
  for (const char* name : {"kvm", "kvm_intel", "kvm_amd", "kvm_pvm"}) {
    std::error_code ec;
    if (std::filesystem::exists(paths.sys_module / name, ec))
      facts.kvm_modules.emplace_back(name);
  }
  if (facts.kvm_device.usable()) {
    const auto key = kvm_key(paths.dev_kvm, facts.kvm_modules);
    if (auto cached = key ? cache.kvm_probe(*key) : std::nullopt) {
      facts.kvm_probe = *cached;
      facts.kvm_probe->detail += " (remembered from a probe earlier this boot)";
    } else {
      facts.kvm_probe = probe_kvm_guest(paths.dev_kvm, paths.kvm_probe_timeout);
      if (key)
        cache.remember(*key, *facts.kvm_probe);
    }
  }
  facts.firmware = gather_firmware(paths);
  facts.io_uring_error = probe_io_uring();
  for (const auto& [role, dir] : paths.space)
    facts.space.push_back(gather_space(role, dir));
  cache.save();
  return facts;
}

} // namespace kvmrun::host
