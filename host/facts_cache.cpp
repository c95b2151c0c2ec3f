#include "host/facts_cache.hpp"

#include "base/file_io.hpp"
#include "base/json_record.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <sys/stat.h>
#include <unistd.h>

namespace kvmrun::host {

namespace json = boost::json;

namespace {

// Owned by this user and writable by nobody else: otherwise not ours to believe.
bool trustworthy(const std::filesystem::path& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
         (st.st_mode & 022U) == 0;
}

std::optional<QemuKey> read_qemu(const JsonRecord& r, std::string& line) {
  auto path = r.string("path");
  auto device = r.integer("device");
  auto inode = r.integer("inode");
  auto size = r.integer("size");
  auto mtime = r.integer("mtime_ns");
  auto version = r.string("version_line");
  if (first_error(path, device, inode, size, mtime, version))
    return std::nullopt;
  line = *version;
  return QemuKey{*path, static_cast<std::uint64_t>(*device), static_cast<std::uint64_t>(*inode),
                 static_cast<std::uint64_t>(*size), *mtime};
}

std::optional<KvmKey> read_kvm(const JsonRecord& r, KvmProbeResult& probe) {
  auto boot = r.string("boot_id");
  auto rdev = r.integer("rdev");
  auto modules = r.strings("modules");
  auto detail = r.string("detail");
  auto elapsed = r.integer("elapsed_us");
  const auto* ran = r.fields().if_contains("ran_guest");
  if (first_error(boot, rdev, modules, detail, elapsed) || ran == nullptr || !ran->is_bool())
    return std::nullopt;
  probe = KvmProbeResult{ran->as_bool(), *detail, std::chrono::microseconds(*elapsed)};
  return KvmKey{*boot, static_cast<std::uint64_t>(*rdev), *modules};
}

} // namespace

std::optional<QemuKey> qemu_key(const std::filesystem::path& qemu) {
  struct stat st {};
  if (::stat(qemu.c_str(), &st) != 0)
    return std::nullopt;
  return QemuKey{qemu.string(), static_cast<std::uint64_t>(st.st_dev),
                 static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
                 static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::optional<KvmKey> kvm_key(const std::filesystem::path& dev_kvm,
                              const std::vector<std::string>& modules) {
  auto boot = read_file("/proc/sys/kernel/random/boot_id", 256);
  struct stat st {};
  if (!boot || boot->size() < 32 || ::stat(dev_kvm.c_str(), &st) != 0)
    return std::nullopt;
  std::string id = *boot;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' '))
    id.pop_back();
  return KvmKey{id, static_cast<std::uint64_t>(st.st_rdev), modules};
}

FactsCache::FactsCache(std::filesystem::path file) : m_file(std::move(file)) {
  if (m_file.empty() || !trustworthy(m_file))
    return;
  const auto record = JsonRecord::load(m_file, 1U << 16U);
  if (!record)
    return;
  if (auto q = record->object("qemu")) {
    std::string line;
    if (auto key = read_qemu(*q, line))
      m_qemu.emplace(*key, line);
  }
  if (auto k = record->object("kvm")) {
    KvmProbeResult probe;
    if (auto key = read_kvm(*k, probe))
      m_kvm.emplace(*key, probe);
  }
}

std::optional<std::string> FactsCache::qemu_version_line(const QemuKey& key) const {
  if (m_qemu && m_qemu->first == key)
    return m_qemu->second;
  return std::nullopt;
}

std::optional<KvmProbeResult> FactsCache::kvm_probe(const KvmKey& key) const {
  if (m_kvm && m_kvm->first == key)
    return m_kvm->second;
  return std::nullopt;
}

void FactsCache::remember(const QemuKey& key, const std::string& version_line) {
  m_qemu.emplace(key, version_line);
  m_changed = true;
}

void FactsCache::remember(const KvmKey& key, const KvmProbeResult& probe) {
  m_kvm.emplace(key, probe);
  m_changed = true;
}

void FactsCache::save() const {
  if (m_file.empty() || !m_changed)
    return;
  json::object doc;
  if (m_qemu) {
    const auto& [k, line] = *m_qemu;
    doc["qemu"] = json::object{{"path", k.path}, {"device", k.device},     {"inode", k.inode},
                               {"size", k.size}, {"mtime_ns", k.mtime_ns}, {"version_line", line}};
  }
  if (m_kvm) {
    const auto& [k, probe] = *m_kvm;
    json::array modules;
    for (const auto& m : k.modules)
      modules.emplace_back(m);
    doc["kvm"] =
        json::object{{"boot_id", k.boot_id},          {"rdev", k.rdev},
                     {"modules", std::move(modules)}, {"ran_guest", probe.ran_guest},
                     {"detail", probe.detail},        {"elapsed_us", probe.elapsed.count()}};
  }
  if (!create_private_dirs(m_file.parent_path()))
    return;
  (void)write_file_atomic(m_file, json::serialize(doc) + "\n", 0600, Durability::regenerated);
}

} // namespace kvmrun::host
