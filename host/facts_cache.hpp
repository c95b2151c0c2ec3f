// The host facts that cost a process or a fork to learn (QEMU's `--version`, the KVM probe),
// kept in <cache>/host-facts.json so every command does not pay for them again. Each entry
// carries what it depends on, and is used only while that is unchanged:
//   qemu  the binary's path, device, inode, size and modification time (a new QEMU is noticed)
//   kvm   the kernel's boot id, /dev/kvm's device number and the KVM modules loaded (a reboot or
//         a module change is noticed)
// The file is input like any other: one that is damaged, of another shape, not owned by this
// user or writable by others is ignored (the facts are gathered afresh), never obeyed.
#pragma once

#include "host/kvm_probe.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kvmrun::host {

struct QemuKey {
  std::string path;
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const QemuKey&, const QemuKey&) = default;
};
struct KvmKey {
  std::string boot_id;
  std::uint64_t rdev = 0;
  std::vector<std::string> modules;
  friend bool operator==(const KvmKey&, const KvmKey&) = default;
};

// The keys as they are on this host now; nullopt when a part cannot be read (then no cache).
[[nodiscard]] std::optional<QemuKey> qemu_key(const std::filesystem::path& qemu);
[[nodiscard]] std::optional<KvmKey> kvm_key(const std::filesystem::path& dev_kvm,
                                            const std::vector<std::string>& modules);

class FactsCache {
public:
  // Reads `file` (absent or untrusted: an empty cache). An empty path: no cache at all.
  explicit FactsCache(std::filesystem::path file);

  [[nodiscard]] std::optional<std::string> qemu_version_line(const QemuKey& key) const;
  [[nodiscard]] std::optional<KvmProbeResult> kvm_probe(const KvmKey& key) const;
  void remember(const QemuKey& key, const std::string& version_line);
  void remember(const KvmKey& key, const KvmProbeResult& probe);
  // Writes what changed (atomically, mode 0600); a failure only costs the next command time.
  void save() const;

private:
  std::filesystem::path m_file;
  std::optional<std::pair<QemuKey, std::string>> m_qemu;
  std::optional<std::pair<KvmKey, KvmProbeResult>> m_kvm;
  bool m_changed = false;
};

} // namespace kvmrun::host
