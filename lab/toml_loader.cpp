// The TOML lab loader, over toml++ through lab/toml_scope.hpp (this is the only file that
// includes it). It walks the document once, checks every key against what kvmrun knows (unknown
// keys are errors), converts and validates each value, merges [defaults] under each
// [instances.NAME], and collects every problem with its location before giving up, so one run
// shows all of them.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "lab/builtin_images.hpp"
#include "lab/loader.hpp"
#include "lab/values.hpp"
#include "seeds/password.hpp"
// After every other header: it lifts NDEBUG for toml++'s precondition checks.
#include "lab/network_loader.hpp"
#include "lab/toml_scope.hpp"

#include <cctype>
#include <functional>
#include <set>

namespace kvmrun::lab {

namespace {

using toml_view::Problems;
using toml_view::Scope;

constexpr std::uint64_t mib = 1ULL << 20U;
constexpr std::uint64_t gib = 1ULL << 30U;

bool absolute_path(std::string_view p) { return !p.empty() && p.front() == '/'; }

bool url_or_path(std::string_view u) {
  for (std::string_view scheme : {"https://", "http://", "file:///"})
    if (u.substr(0, scheme.size()) == scheme && u.size() > scheme.size())
      return true;
  return absolute_path(u);
}

void read_image(Scope& s, ImageSpec& image) {
  if (auto url = s.checked_string(
          "url", url_or_path, "expected an https://, http://, file:/// URL or an absolute path"))
    image.url = *url;
  else if (!s.find("url").first && image.url.empty())
    s.missing("url", "missing; every image needs a url");
  const auto [sum_node, sum_path] = s.find("checksum");
  if (auto sum = s.string("checksum")) {
    if (auto parsed = parse_checksum(*sum))
      image.checksum = parsed;
    else
      s.problem(*sum_node, sum_path,
                "expected \"sha256:<64 hex digits>\" or \"sha512:<128 hex digits>\"");
  }
  if (auto url =
          s.checked_string("checksum_url", url_or_path,
                           "expected an https://, http://, file:/// URL or an absolute path"))
    image.checksum_url = *url;
  if (auto v = s.checked_string(
          "format", [](auto f) { return parse_disk_format(f).has_value(); },
          "expected \"qcow2\" or \"raw\""))
    image.format = *parse_disk_format(*v);
  if (auto v = s.checked_string(
          "firmware", [](auto f) { return f == "bios" || f == "uefi" || f == "uefi-secure"; },
          "expected \"bios\", \"uefi\" or \"uefi-secure\" (UEFI with Secure Boot)"))
    image.firmware = *v == "uefi"          ? Firmware::uefi
                     : *v == "uefi-secure" ? Firmware::uefi_secure
                                           : Firmware::bios;
  image.kernel =
      s.checked_string("kernel", url_or_path, "expected a URL or an absolute path").value_or("");
  image.initrd =
      s.checked_string("initrd", url_or_path, "expected a URL or an absolute path").value_or("");
  image.cmdline = s.string("cmdline").value_or("");
  image.allow_http = s.boolean("allow_http").value_or(false);
  image.ca_file =
      s.checked_string("ca_file", absolute_path, "expected an absolute path").value_or("");
  if (auto v = s.checked_string(
          "verify", [](auto m) { return m == "quick" || m == "full"; },
          "expected \"quick\" (size, inode and mtime as when last hashed; the default) or "
          "\"full\" (hash the cached file before every use)"))
    image.verify_in_full = *v == "full";
  if (auto v = s.checked_string(
          "checksum_refresh",
          [](auto r) { return r == "always" || r == "never" || parse_duration(r).has_value(); },
          "expected \"always\" (the default), \"never\" or a duration such as \"24h\""))
    image.checksum_refresh =
        *v == "always"  ? std::chrono::seconds(0)
        : *v == "never" ? std::chrono::seconds::max()
                        : std::chrono::duration_cast<std::chrono::seconds>(*parse_duration(*v));
  if (auto v = s.checked_string(
          "interface_names", [](auto n) { return n == "guest" || n == "kvmrun"; },
          "expected \"guest\" (NICs matched by MAC, named by the guest; the default) or "
          "\"kvmrun\" (renamed to eth0 and their networks' names)")) {
    image.interface_names = *v == "kvmrun" ? InterfaceNames::kvmrun : InterfaceNames::guest;
    image.interface_names_given = true;
  }
  image.default_user = s.checked_string("default_user", is_valid_user_name,
                                        "expected a user name ([a-z_][a-z0-9_-]*, at most 32)")
                           .value_or(image.default_user);
  s.finish();
}

std::optional<std::chrono::milliseconds> duration(Scope& s, std::string_view key) {
  auto [n, path] = s.find(key);
  auto text = s.string(key);
  if (!text)
    return std::nullopt;
  auto d = parse_duration(*text);
  if (!d || d->count() == 0) {
    s.problem(*n, path, "\"" + *text + "\" is not a duration; write it like \"90s\" or \"10m\"");
    return std::nullopt;
  }
  return d;
}

void read_timeouts(Scope s, Timeouts& t) {
  const std::pair<std::string_view, std::chrono::milliseconds*> keys[] = {
      {"qemu", &t.qemu},        {"boot", &t.boot},   {"agent", &t.agent},
      {"network", &t.network},  {"disks", &t.disks}, {"cloud_init", &t.cloud_init},
      {"shutdown", &t.shutdown}};
  for (const auto& [key, target] : keys)
    if (auto d = duration(s, key))
      *target = *d;
  s.finish();
}

// [instances.X.topology]: sockets, cores and threads (each 1-64). What is left out is 1 for
// sockets and threads, and for cores whatever makes the product the instance's cpus.
void read_topology(Scope t, InstanceSpec& inst) {
  const auto sockets = t.integer("sockets", 1, 64);
  const auto cores = t.integer("cores", 1, 64);
  const auto threads = t.integer("threads", 1, 64);
  t.finish();
  const auto s = static_cast<unsigned>(sockets.value_or(1));
  const auto th = static_cast<unsigned>(threads.value_or(1));
  const unsigned c = cores ? static_cast<unsigned>(*cores) : inst.cpus / (s * th);
  if (c == 0 || s * c * th != inst.cpus) {
    t.complain("sockets x cores x threads is " + std::to_string(s) + " x " +
               (c == 0 ? std::string("?") : std::to_string(c)) + " x " + std::to_string(th) +
               ", which is not the instance's cpus (" + std::to_string(inst.cpus) +
               "); make their product " + std::to_string(inst.cpus) + " or change cpus");
    return;
  }
  inst.topology = CpuTopology{s, c, th};
}

// cpu_affinity = [0, 1]: host CPU numbers (0-1023), each once.
void read_cpu_affinity(Scope& s, InstanceSpec& inst) {
  auto [node, path] = s.find("cpu_affinity");
  if (node == nullptr)
    return;
  const auto* arr = node->as_array();
  if (arr == nullptr || arr->empty()) {
    s.problem(*node, path, "expected a non-empty array of host CPU numbers, e.g. [0, 1]");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto* n = arr->get(i)->as_integer();
    const std::string item = path + "[" + std::to_string(i) + "]";
    if (n == nullptr || n->get() < 0 || n->get() > 1023) {
      s.problem(*arr->get(i), item, "expected a host CPU number from 0 to 1023");
      continue;
    }
    const auto cpu = static_cast<unsigned>(n->get());
    if (std::find(inst.cpu_affinity.begin(), inst.cpu_affinity.end(), cpu) !=
        inst.cpu_affinity.end()) {
      s.problem(*arr->get(i), item, "host CPU " + std::to_string(cpu) + " is listed twice");
      continue;
    }
    inst.cpu_affinity.push_back(cpu);
  }
}

void read_users(Scope& ci, const std::string& lab, const std::string& instance, bool allow_plain,
                std::vector<seeds::UserSpec>& users, std::vector<std::string>& lab_key_users,
                std::vector<std::string>& warnings) {
  for (const auto& [table, path] : ci.tables("users")) {
    Scope u(ci.problems(), {{table, path}});
    seeds::UserSpec user;
    const auto [name_node, name_path] = u.find("name");
    if (auto name = u.checked_string("name", is_valid_user_name,
                                     "expected a user name ([a-z_][a-z0-9_-]*, at most 32)"))
      user.name = *name;
    else if (name_node == nullptr)
      ci.problems().add(table->source(), name_path, "missing; every user needs a name");
    user.gecos = u.string("gecos").value_or("");
    user.groups = u.strings("groups");
    user.shell =
        u.checked_string("shell", absolute_path, "expected an absolute path").value_or("/bin/bash");
    const auto [sudo_node, sudo_path] = u.find("sudo");
    if (sudo_node != nullptr) {
      if (const auto* b = sudo_node->as_boolean())
        user.sudo = b->get() ? "ALL=(ALL) NOPASSWD:ALL" : "";
      else if (const auto* str = sudo_node->as_string())
        user.sudo = str->get();
      else
        u.wrong_type(*sudo_node, sudo_path, "true, false or a sudoers rule");
    }
    user.ssh_authorized_keys = u.strings("ssh_authorized_keys");
    auto scheme = seeds::PasswordScheme::sha512;
    const auto [scheme_node, scheme_path] = u.find("password_scheme");
    if (auto text = u.checked_string(
            "password_scheme",
            [](std::string_view t) { return seeds::parse_password_scheme(t).has_value(); },
            "expected \"sha512\" (the default, for any guest) or \"yescrypt\""))
      scheme = *seeds::parse_password_scheme(*text);
    const auto [pw_node, pw_path] = u.find("password");
    if (auto pw = u.string("password")) {
      auto hashed = seeds::hash_password(*pw, scheme, lab + "/" + instance + "/" + user.name);
      if (hashed)
        user.password_hash = *hashed;
      else
        u.problem(*pw_node, pw_path, hashed.error().message());
    } else if (scheme_node != nullptr && pw_node == nullptr) {
      u.problem(*scheme_node, scheme_path, "applies to password, which this user does not have");
    }
    const auto [hash_node, hash_path] = u.find("password_hash");
    if (auto hash = u.string("password_hash")) {
      if (!seeds::looks_like_crypt_hash(*hash))
        u.problem(*hash_node, hash_path,
                  "expected a crypt(3) hash such as \"$6$...\" (mkpasswd -m sha-512)");
      else if (pw_node != nullptr)
        u.problem(*hash_node, hash_path, "give password or password_hash, not both");
      else
        user.password_hash = *hash;
    }
    const auto [plain_node, plain_path] = u.find("plain_password");
    if (auto plain = u.string("plain_password")) {
      if (!allow_plain)
        u.problem(*plain_node, plain_path,
                  "a plain-text password would be stored in the seed; use password (hashed by "
                  "kvmrun) or set cloud_init.allow_plain_password = true");
      else {
        user.plain_password = *plain;
        warnings.push_back("user " + user.name + " of " + instance +
                           " has a plain-text password in its seed ISO (allow_plain_password)");
      }
    }
    if (auto lock = u.boolean("lock_password"))
      user.lock_password = *lock;
    if (u.boolean("kvmrun_key").value_or(true))
      lab_key_users.push_back(user.name);
    u.finish();
    users.push_back(std::move(user));
  }
}

void read_write_files(Scope& ci, std::vector<seeds::WriteFileSpec>& files) {
  for (const auto& [table, path] : ci.tables("write_files")) {
    Scope f(ci.problems(), {{table, path}});
    seeds::WriteFileSpec file;
    if (auto p = f.checked_string("path", absolute_path, "expected an absolute path"))
      file.path = *p;
    else if (f.find("path").first == nullptr)
      ci.problems().add(table->source(), path + ".path", "missing; every file needs a path");
    file.content = f.string("content").value_or("");
    file.permissions = f.checked_string("permissions", is_valid_permissions,
                                        "expected octal permissions such as \"0644\"")
                           .value_or("0644");
    file.owner = f.string("owner").value_or("root:root");
    file.append = f.boolean("append").value_or(false);
    file.defer = f.boolean("defer").value_or(false);
    f.finish();
    files.push_back(std::move(file));
  }
}

void read_apt(Scope a, seeds::AptSpec& apt) {
  apt.proxy = a.string("proxy").value_or("");
  apt.mirror = a.checked_string("mirror", url_or_path, "expected a URL").value_or("");
  for (const auto& [table, path] : a.tables("sources")) {
    Scope s(a.problems(), {{table, path}});
    seeds::AptSourceSpec source;
    source.name =
        s.checked_string("name", is_valid_name, "expected a name of [a-z0-9-]").value_or("");
    source.source = s.string("source").value_or("");
    source.key = s.string("key").value_or("");
    if (source.name.empty() || source.source.empty())
      a.problems().add(table->source(), path, "every apt source needs a name and a source line");
    s.finish();
    apt.sources.push_back(std::move(source));
  }
  a.finish();
}

void read_cloud_init(Scope ci, const std::string& lab, InstanceSpec& inst) {
  seeds::SeedSpec& seed = inst.seed;
  const bool allow_plain = ci.boolean("allow_plain_password").value_or(false);
  read_users(ci, lab, inst.name, allow_plain, seed.users, inst.lab_key_users, inst.warnings);
  seed.hostname =
      ci.checked_string("hostname", is_valid_hostname, "expected a host name").value_or(inst.name);
  seed.ssh_password_auth = ci.boolean("ssh_password_auth").value_or(false);
  seed.timezone = ci.string("timezone").value_or("");
  seed.locale = ci.string("locale").value_or("");
  read_apt(ci.table("apt"), seed.apt);
  seed.package_update = ci.boolean("package_update").value_or(false);
  seed.package_upgrade = ci.boolean("package_upgrade").value_or(false);
  seed.packages = ci.strings("packages");
  seed.bootcmd = ci.strings("bootcmd");
  seed.runcmd = ci.strings("runcmd");
  read_write_files(ci, seed.write_files);
  ci.finish();
}

void read_network(Scope n, const std::string& lab, InstanceSpec& inst) {
  seeds::NetworkSpec& net = inst.seed.network;
  const auto [mac_node, mac_path] = n.find("mac");
  if (auto mac = n.string("mac")) {
    if (auto parsed = parse_mac(*mac))
      net.mac = *parsed;
    else
      n.problem(*mac_node, mac_path, "expected a unicast MAC such as \"52:54:00:12:34:56\"");
  }
  if (net.mac.empty())
    net.mac = deterministic_mac(lab, inst.name);
  if (auto address =
          n.checked_string("address", is_valid_ipv4_cidr,
                           "expected an IPv4 address with prefix, e.g. \"10.0.2.20/24\""))
    net.address = *address;
  net.gateway = n.checked_string("gateway", is_valid_ipv4, "expected an IPv4 address").value_or("");
  const auto [dns_node, dns_path] = n.find("nameservers");
  net.nameservers = n.strings("nameservers");
  for (const auto& ns : net.nameservers)
    if (!is_valid_ipv4(ns))
      n.problem(*dns_node, dns_path, "\"" + ns + "\" is not an IPv4 address");
  net.search = n.strings("search");
  if (!net.address && (!net.gateway.empty() || !net.nameservers.empty()))
    n.problems().add(dns_node != nullptr ? dns_node->source() : toml::source_region{},
                     mac_path.substr(0, mac_path.rfind('.')),
                     "gateway and nameservers need a static address");
  n.finish();
}

void read_forwards(Scope& s, InstanceSpec& inst) {
  for (const auto& [table, path] : s.tables("forwards")) {
    Scope f(s.problems(), {{table, path}});
    PortForward fw;
    const auto host = f.integer("host", 1, 65535);
    const auto guest = f.integer("guest", 1, 65535);
    if (!f.find("host").first || !f.find("guest").first)
      s.problems().add(table->source(), path, "a forward needs host and guest ports");
    fw.host_port = static_cast<std::uint16_t>(host.value_or(0));
    fw.guest_port = static_cast<std::uint16_t>(guest.value_or(0));
    if (auto proto = f.checked_string(
            "protocol", [](auto p) { return p == "tcp" || p == "udp"; },
            "expected \"tcp\" or \"udp\""))
      fw.protocol = *proto == "udp" ? Protocol::udp : Protocol::tcp;
    const auto [addr_node, addr_path] = f.find("host_address");
    if (auto addr = f.checked_string("host_address", is_valid_ipv4, "expected an IPv4 address"))
      fw.host_address = *addr;
    const bool public_ok = f.boolean("public").value_or(false);
    if (!is_loopback_ipv4(fw.host_address) && !public_ok)
      f.problem(*addr_node, addr_path,
                "forwarding from " + fw.host_address +
                    " exposes the guest beyond this host; add public = true to mean it");
    f.finish();
    inst.forwards.push_back(fw);
  }
}

// cache, aio and discard in `d` over `io`: the disk_io table, or one extra disk's entry.
void read_disk_io(Scope& d, DiskIo& io, const std::string& path) {
  if (auto v = d.checked_string(
          "cache", [](auto c) { return c == "writeback" || c == "none" || c == "unsafe"; },
          "expected \"writeback\" (the default), \"none\" (O_DIRECT) or \"unsafe\" (flushes "
          "ignored: for throwaway runs)"))
    io.cache = *v == "none"     ? DiskCache::none
               : *v == "unsafe" ? DiskCache::unsafe
                                : DiskCache::writeback;
  const auto [aio_node, aio_path] = d.find("aio");
  if (auto v = d.checked_string(
          "aio", [](auto a) { return a == "threads" || a == "native" || a == "io_uring"; },
          "expected \"threads\" (the default), \"native\" or \"io_uring\""))
    io.aio = *v == "native"     ? DiskAio::native
             : *v == "io_uring" ? DiskAio::io_uring
                                : DiskAio::threads;
  if (auto v = d.boolean("discard"))
    io.discard = *v;
  if (io.aio == DiskAio::native && io.cache != DiskCache::none)
    d.problems().add(aio_node != nullptr ? aio_node->source() : toml::source_region{},
                     aio_node != nullptr ? aio_path : path + ".aio",
                     "aio = \"native\" needs cache = \"none\" (Linux AIO works on O_DIRECT files "
                     "only); use aio = \"io_uring\" or \"threads\" with the page cache");
}

void read_disks(Scope& s, InstanceSpec& inst) {
  std::set<std::string> names;
  for (const auto& [table, path] : s.tables("disks")) {
    Scope d(s.problems(), {{table, path}});
    ExtraDisk disk;
    const auto [name_node, name_path] = d.find("name");
    if (auto name = d.checked_string("name", is_valid_name,
                                     "expected 1 to 32 of [a-z0-9-] starting with a letter")) {
      disk.name = *name;
      if (name->size() > 16)
        d.problem(*name_node, name_path,
                  "disk names hold at most 16 characters (filesystem labels)");
      if (!names.insert(*name).second)
        d.problem(*name_node, name_path, "another disk of this instance has this name");
    } else if (name_node == nullptr) {
      s.problems().add(table->source(), name_path, "missing; every disk needs a name");
    }
    if (auto size = d.size("size", mib, 64ULL << 40U, "10GiB"))
      disk.size_bytes = *size;
    else if (d.find("size").first == nullptr)
      s.problems().add(table->source(), path + ".size", "missing; every disk needs a size");
    disk.filesystem =
        d.checked_string(
             "filesystem",
             [](auto f) {
               return f == "ext4" || f == "xfs" || f == "btrfs" || f == "vfat" || f == "none";
             },
             "expected ext4, xfs, btrfs, vfat or none")
            .value_or("ext4");
    if (disk.filesystem == "none")
      disk.filesystem.clear();
    disk.mount_point =
        d.checked_string("mount", absolute_path, "expected an absolute path").value_or("");
    if (!disk.mount_point.empty() && disk.filesystem.empty())
      s.problems().add(table->source(), path + ".mount",
                       "a disk without a filesystem cannot be mounted");
    disk.mount_options = d.string("options").value_or("defaults,nofail");
    disk.io = inst.disk_io;
    read_disk_io(d, disk.io, path);
    d.finish();
    inst.disks.push_back(std::move(disk));
  }
}

// One instance: its own table over [defaults].
InstanceSpec read_instance(Problems& problems, const std::string& lab, const std::string& name,
                           const toml::table& own, const toml::table* defaults,
                           bool first_instance) {
  InstanceSpec inst;
  inst.name = name;
  inst.seed.name = name;
  Scope s(problems, {{&own, "instances." + name}, {defaults, "defaults"}}, first_instance);
  if (auto image = s.string("image"))
    inst.image = *image;
  if (auto cpus = s.integer("cpus", 1, 64))
    inst.cpus = static_cast<unsigned>(*cpus);
  if (Scope t = s.table("topology"); t.present())
    read_topology(std::move(t), inst);
  read_cpu_affinity(s, inst);
  inst.snapshot_when_ready =
      s.checked_string("snapshot_when_ready", is_valid_snapshot_tag,
                       "expected a snapshot tag (1 to 64 of a-z, 0-9, '-', '_', '.')")
          .value_or("");
  inst.template_name =
      s.checked_string("template", is_valid_name, "expected a template name of [a-z0-9-]")
          .value_or("");
  inst.on_clone = s.strings("on_clone");
  if (auto memory = s.size("memory", 64 * mib, 1024 * gib, "2GiB"))
    inst.memory_bytes = *memory;
  inst.disk_bytes = s.size("disk", 64 * mib, 64ULL << 40U, "20GiB");
  if (Scope io = s.table("disk_io"); io.present()) {
    read_disk_io(io, inst.disk_io, "instances." + name + ".disk_io");
    io.finish();
  }
  read_disks(s, inst);
  read_forwards(s, inst);
  read_network(s.table("network"), lab, inst);
  read_attachments(s, lab, inst);
  read_cloud_init(s.table("cloud_init"), lab, inst);
  read_timeouts(s.table("timeouts"), inst.timeouts);
  s.finish();
  for (const auto& disk : inst.disks)
    inst.seed.disks.push_back(seeds::DiskSpec{guest_disk_device(disk.name), disk.filesystem,
                                              disk.name, disk.mount_point, disk.mount_options});
  return inst;
}

void cross_checks(Problems& problems, const toml::table& root, LabSpec& lab) {
  const toml::node* instances = root.get("instances");
  std::map<std::string, std::string> macs, ports;
  for (const auto& inst : lab.instances) {
    const toml::node* node = instances->as_table()->get(inst.name);
    const auto where = node->source();
    const std::string path = "instances." + inst.name;
    if (inst.image.empty())
      problems.add(where, path + ".image", "missing; set it here or in [defaults]");
    else if (!lab.images.contains(inst.image))
      problems.add(where, path + ".image",
                   "no image \"" + inst.image + "\" in [images]; define [images." + inst.image +
                       "] or use a built-in image (" + builtin_image_names() + ")");
    if (auto [it, fresh] = macs.emplace(inst.seed.network.mac, inst.name); !fresh)
      problems.add(where, path + ".network.mac",
                   inst.seed.network.mac + " is also the MAC of " + it->second);
    for (const auto& fw : inst.forwards) {
      const std::string key = std::string(fw.protocol == Protocol::udp ? "udp " : "tcp ") +
                              fw.host_address + ":" + std::to_string(fw.host_port);
      if (auto [it, fresh] = ports.emplace(key, inst.name); !fresh)
        problems.add(where, path + ".forwards",
                     "host port " + key + " is already forwarded to " + it->second);
    }
  }
}

// toml++ 3.3.0 (Debian 12) has two bugs that hostile input reaches (both found by
// tests/fuzz): it asserts when a table header has no key after its brackets ("[#", "[[[",
// "[="; fixed upstream in toml++ PR #301), and it reaches __builtin_unreachable() on some
// non-ASCII characters outside strings (its whitespace table). Neither is valid TOML, so both
// are found here first, outside strings and comments, and reported as ordinary syntax errors.
std::optional<Error> toml_precheck(std::string_view text, std::string_view source) {
  const auto key_start = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '"' ||
           c == '\'';
  };
  constexpr std::string_view basic_multi = "\"\"\"";
  constexpr std::string_view literal_multi = "'''";
  std::string_view open_string; // the delimiter of the multi-line string we are in
  std::size_t line_no = 1;
  for (std::size_t pos = 0; pos <= text.size(); ++line_no) {
    const auto end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    std::size_t i = 0;
    if (open_string.empty()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
        ++i;
      if (i < line.size() && line[i] == '[') {
        const std::size_t column = i + 1;
        std::size_t k = i + 1;
        if (k < line.size() && line[k] == '[')
          ++k;
        while (k < line.size() && (line[k] == ' ' || line[k] == '\t'))
          ++k;
        if (k >= line.size() || !key_start(line[k]))
          return Error(ErrorCode::config,
                       std::string(source) + ":" + std::to_string(line_no) + ":" +
                           std::to_string(column) + ": invalid TOML: a table header needs a key",
                       "fix the TOML syntax");
      }
    }
    // Track multi-line strings so that lines inside them are not taken for headers.
    for (; i < line.size(); ++i) {
      if (open_string.empty()) {
        if (line[i] == '#')
          break;
        if (static_cast<unsigned char>(line[i]) >= 0x80)
          return Error(ErrorCode::config,
                       std::string(source) + ":" + std::to_string(line_no) + ":" +
                           std::to_string(i + 1) +
                           ": invalid TOML: non-ASCII text outside a string or comment",
                       "quote it: keys and values with such characters go in \"...\"");
        if (line.substr(i, 3) == basic_multi || line.substr(i, 3) == literal_multi) {
          open_string = line.substr(i, 3) == basic_multi ? basic_multi : literal_multi;
          i += 2;
        } else if (line[i] == '"' || line[i] == '\'') {
          const char q = line[i]; // a one-line string: skip to its end
          const std::size_t column = i + 1;
          for (++i; i < line.size() && line[i] != q; ++i)
            if (q == '"' && line[i] == '\\')
              ++i;
          if (i >= line.size())
            return Error(ErrorCode::config,
                         std::string(source) + ":" + std::to_string(line_no) + ":" +
                             std::to_string(column) + ": invalid TOML: unterminated string",
                         "close the string on the same line, or use \"\"\" for several lines");
        }
      } else if (open_string == basic_multi && line[i] == '\\') {
        ++i;
      } else if (line.substr(i, 3) == open_string) {
        open_string = {};
        i += 2;
      }
    }
  }
  return std::nullopt;
}

} // namespace

Result<LabSpec> parse_lab(std::string_view text, std::string_view source) {
  if (auto header = toml_precheck(text, source))
    return *header;
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& err) {
    return Error(ErrorCode::config,
                 std::string(source) + ":" + std::to_string(err.source().begin.line) + ":" +
                     std::to_string(err.source().begin.column) +
                     ": invalid TOML: " + std::string(err.description()),
                 "fix the TOML syntax");
  } catch (const TomlPreconditionFailed&) {
    return Error(ErrorCode::config,
                 std::string(source) + ": invalid TOML (the parser stopped "
                                       "on malformed syntax it cannot place)",
                 "check brackets, braces and commas");
  }
  Problems problems{std::string(source)};
  LabSpec lab;
  lab.source = std::string(source);
  lab.config_hash = sha256_hex(text);

  Scope top(problems, {{&root, ""}});
  Scope lab_table = top.table("lab");
  lab.name = lab_table
                 .checked_string("name", is_valid_name,
                                 "expected 1 to 32 of [a-z0-9-] starting with a letter")
                 .value_or("lab");
  lab_table.finish();

  Scope images = top.table("images");
  if (const toml::node* images_node = root.get("images"); images_node && images_node->as_table())
    for (const auto& [key, node] : *images_node->as_table()) {
      const std::string name(key.str());
      if (!is_valid_name(name))
        problems.add(key.source(), "images." + name,
                     "image names are 1 to 32 of [a-z0-9-] starting with a letter");
      Scope image = images.table(name);
      if (!image.present())
        continue;
      // A built-in name keeps its source unless the table gives one of its own.
      ImageSpec spec = builtin_image(name).value_or(ImageSpec{});
      spec.name = name;
      if (image.find("url").first || image.find("checksum").first ||
          image.find("checksum_url").first) {
        spec.url.clear();
        spec.checksum.reset();
        spec.checksum_url.clear();
        spec.recipe.clear();
        spec.origin.clear();
      }
      read_image(image, spec);
      if (spec.checksum.has_value() == !spec.checksum_url.empty())
        problems.add(node.source(), "images." + name,
                     "give exactly one of checksum (a pinned digest) or checksum_url (a manifest)");
      if (spec.url.rfind("http://", 0) == 0 && !spec.allow_http)
        problems.add(node.source(), "images." + name + ".url",
                     "plain http is not verified in transit; use https or set allow_http = true");
      lab.images.emplace(name, std::move(spec));
    }

  read_networks(top, root, problems, lab);

  const toml::table* defaults = nullptr;
  if (const toml::node* d = root.get("defaults")) {
    defaults = d->as_table();
    if (defaults == nullptr)
      problems.add(d->source(), "defaults", "expected a table");
  }
  top.find("defaults");
  const toml::node* instances_node = top.find("instances").first;
  if (instances_node == nullptr || instances_node->as_table() == nullptr ||
      instances_node->as_table()->empty()) {
    problems.add(instances_node != nullptr ? instances_node->source() : toml::source_region{},
                 "instances", "a lab needs at least one [instances.NAME] table");
  } else {
    bool first = true;
    for (const auto& [key, node] : *instances_node->as_table()) {
      const std::string name(key.str());
      if (!is_valid_name(name)) {
        problems.add(key.source(), "instances." + name,
                     "instance names are 1 to 32 of [a-z0-9-] starting with a letter (they "
                     "become host names, file names and socket paths)");
        continue;
      }
      const toml::table* own = node.as_table();
      if (own == nullptr) {
        problems.add(node.source(), "instances." + name, "expected a table");
        continue;
      }
      lab.instances.push_back(read_instance(problems, lab.name, name, *own, defaults, first));
      first = false;
    }
    for (const auto& inst : lab.instances) // built-in images the lab names without a table
      if (!lab.images.contains(inst.image))
        if (auto builtin = builtin_image(inst.image))
          lab.images.emplace(inst.image, std::move(*builtin));
    if (problems.empty())
      cross_checks(problems, root, lab);
    if (problems.empty())
      apply_interface_names(lab);
    if (problems.empty())
      check_networks(problems, root, lab);
  }
  top.finish();
  if (!problems.empty())
    return problems.error();
  return lab;
}

Result<LabSpec> load_lab(const std::filesystem::path& file) {
  auto text = read_file(file, 4U << 20U);
  if (!text)
    return std::move(text)
        .error()
        .add_context("reading the lab definition")
        .set_remedy("pass an existing file with --config");
  return parse_lab(*text, file.string());
}

} // namespace kvmrun::lab
