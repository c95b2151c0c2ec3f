#include "instance/qemu_user.hpp"

#include "base/file_io.hpp"
#include "images/qcow2.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace kvmrun::instance {

namespace {

template <typename Id> std::optional<Id> parse_id(std::string_view text) {
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > 0xFFFFFFFEUL)
    return std::nullopt;
  return static_cast<Id>(value);
}

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777U));
  return text;
}

// Whether `as` gets `bits` (given as the owner's: S_IRUSR, S_IWUSR, S_IXUSR) on a file with
// this status, by the kernel's rule: the owner's bits for its owner, else the group's for a
// member of its group, else the others'.
bool allows(const struct stat& st, const Credentials& as, mode_t bits) {
  const bool member = st.st_gid == as.gid ||
                      std::find(as.groups.begin(), as.groups.end(), st.st_gid) != as.groups.end();
  const mode_t shift = st.st_uid == as.uid ? 0 : member ? 3 : 6;
  return (st.st_mode & (bits >> shift)) == (bits >> shift);
}

bool within(const std::filesystem::path& path, const std::filesystem::path& root) {
  const auto p = path.lexically_normal();
  const auto r = root.lexically_normal();
  const auto rp = std::mismatch(r.begin(), r.end(), p.begin(), p.end()).first;
  return rp == r.end() || (std::next(rp) == r.end() && rp->empty()); // "dir/" ends in ""
}

class Giver {
public:
  Giver(const RunAs& as, const host::Dirs& dirs)
      : m_as(as), m_roots{dirs.cache, dirs.state, dirs.runtime} {}

  [[nodiscard]] bool kvmruns(const std::filesystem::path& path) const {
    return std::any_of(m_roots.begin(), m_roots.end(),
                       [&](const auto& root) { return within(path, root); });
  }

  [[nodiscard]] Error closed(const std::filesystem::path& what, const std::filesystem::path& dir,
                             const struct stat& st, const char* need) const {
    return Error(ErrorCode::host,
                 "QEMU runs as user '" + m_as.user + "' (kvmrun runs as root) and cannot " + need +
                     " " + what.string() + ": " + dir.string() + " (mode " + octal(st.st_mode) +
                     ", owner uid " + std::to_string(st.st_uid) + ") is closed to it",
                 "keep kvmrun's files where that user may pass (KVMRUN_CACHE_DIR, "
                 "KVMRUN_STATE_DIR and KVMRUN_RUNTIME_DIR; root's defaults are /var/cache/kvmrun, "
                 "/var/lib/kvmrun and /run/kvmrun), `chmod o+x " +
                     dir.string() + "`, or name another user in KVMRUN_QEMU_USER");
  }

  // Every directory from / down to `path`'s parent lets the user pass.
  [[nodiscard]] Status pass_to(const std::filesystem::path& path) const {
    std::filesystem::path dir;
    const auto parent = path.lexically_normal().parent_path();
    for (const auto& part : parent) {
      dir /= part;
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0)
        return system_error(ErrorCode::io, "reading the mode of " + dir.string(), errno);
      if (allows(st, m_as.ids, S_IXUSR))
        continue;
      if (!kvmruns(dir))
        return closed(path, dir, st, "reach");
      if (::chmod(dir.c_str(), (st.st_mode & 07777U) | S_IXGRP | S_IXOTH) != 0)
        return system_error(ErrorCode::io, "letting QEMU's user pass through " + dir.string(),
                            errno);
    }
    return {};
  }

  [[nodiscard]] Status own(const std::filesystem::path& path) const {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
      return errno == ENOENT ? Status{}
                             : system_error(ErrorCode::io, "reading " + path.string(), errno);
    if (auto s = pass_to(path); !s)
      return s;
    if ((st.st_uid != m_as.ids.uid || st.st_gid != m_as.ids.gid) &&
        ::lchown(path.c_str(), m_as.ids.uid, m_as.ids.gid) != 0)
      return system_error(ErrorCode::io,
                          "giving " + path.string() + " to QEMU's user '" + m_as.user + "'", errno);
    return {};
  }

  [[nodiscard]] Status read(const std::filesystem::path& path) const {
    if (auto s = pass_to(path); !s)
      return s;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return system_error(ErrorCode::io, "reading the mode of " + path.string(), errno);
    if (allows(st, m_as.ids, S_IRUSR))
      return {};
    if (!kvmruns(path))
      return closed(path, path, st, "read");
    if (::chown(path.c_str(), static_cast<uid_t>(-1), m_as.ids.gid) != 0 ||
        ::chmod(path.c_str(), (st.st_mode & 07777U) | S_IRGRP) != 0)
      return system_error(ErrorCode::io, "letting QEMU's group read " + path.string(), errno);
    return {};
  }

private:
  const RunAs& m_as;
  std::vector<std::filesystem::path> m_roots;
};

} // namespace

std::optional<PasswdEntry> find_user(std::string_view passwd, std::string_view name) {
  while (!passwd.empty()) {
    const auto eol = passwd.find('\n');
    std::string_view line = passwd.substr(0, eol);
    passwd = eol == std::string_view::npos ? std::string_view{} : passwd.substr(eol + 1);
    std::string_view fields[4];
    std::size_t n = 0;
    for (; n < 4; ++n) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos)
        break;
      fields[n] = line.substr(0, colon);
      line.remove_prefix(colon + 1);
    }
    if (n < 4 || fields[0] != name)
      continue;
    const auto uid = parse_id<uid_t>(fields[2]);
    const auto gid = parse_id<gid_t>(fields[3]);
    if (uid && gid)
      return PasswdEntry{std::string(name), *uid, *gid};
  }
  return std::nullopt;
}

std::optional<gid_t> kvm_device_group() {
  struct stat st {};
  if (::stat("/dev/kvm", &st) != 0)
    return std::nullopt;
  return st.st_gid;
}

Result<std::optional<RunAs>> qemu_run_as(const host::EnvLookup& getenv, uid_t uid,
                                         std::optional<gid_t> kvm_group,
                                         const std::filesystem::path& passwd) {
  if (uid != 0)
    return std::optional<RunAs>{};
  const char* named = getenv("KVMRUN_QEMU_USER");
  const std::string user = named != nullptr && *named != '\0' ? named : default_qemu_user;
  const std::string remedy =
      "create it (`useradd --system --no-create-home --shell /usr/sbin/nologin " + user +
      "`) or name another unprivileged user in KVMRUN_QEMU_USER";
  auto text = read_file(passwd, 16U << 20U);
  if (!text)
    return std::move(text).error().add_context("looking up QEMU's user '" + user + "'");
  const auto entry = find_user(*text, user);
  if (!entry)
    return Error(ErrorCode::host,
                 "QEMU's user '" + user + "' is not in " + passwd.string() +
                     " (kvmrun runs as root and never runs QEMU as root)",
                 remedy);
  if (entry->uid == 0)
    return Error(ErrorCode::host,
                 "QEMU's user '" + user + "' is root (uid 0): kvmrun never runs QEMU as root",
                 remedy);
  RunAs as{user, Credentials{entry->uid, entry->gid, {entry->gid}}};
  if (kvm_group && *kvm_group != entry->gid)
    as.ids.groups.push_back(*kvm_group);
  return std::optional<RunAs>(std::move(as));
}

Result<Handover> qemu_handover(const QemuLaunch& l) {
  const auto& p = l.paths;
  Handover h;
  h.owned = {p.state, p.runtime, p.disk(), p.seed(), p.efi_vars(), p.serial_log()};
  std::vector<std::filesystem::path> disks{p.disk()};
  for (const auto& d : l.instance.disks) {
    h.owned.push_back(p.extra_disk(d.name));
    disks.push_back(p.extra_disk(d.name));
  }
  for (const auto& disk : disks) {
    auto chain = images::inspect_chain(disk, DiskFormat::qcow2);
    if (!chain)
      return std::move(chain).error().add_context("finding what QEMU reads below " + disk.string());
    for (std::size_t k = 1; k < chain->size(); ++k)
      h.read.push_back((*chain)[k].path);
  }
  for (const auto& file : {l.image.kernel, l.image.initrd, l.ovmf_code.string()})
    if (!file.empty())
      h.read.emplace_back(file);
  return h;
}

Status hand_over(const RunAs& as, const Handover& files, const host::Dirs& kvmrun_dirs) {
  const Giver giver(as, kvmrun_dirs);
  for (const auto& f : files.owned)
    if (auto s = giver.own(f); !s)
      return s;
  for (const auto& f : files.read)
    if (auto s = giver.read(f); !s)
      return s;
  return {};
}

} // namespace kvmrun::instance
