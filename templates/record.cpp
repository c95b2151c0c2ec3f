#include "templates/record.hpp"

#include "base/file_digest.hpp"
#include "base/file_io.hpp"
#include "base/json_record.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace kvmrun::templates {

namespace json = boost::json;

std::filesystem::path templates_root(const std::filesystem::path& cache_dir) {
  return cache_dir / "templates";
}

std::filesystem::path record_file(const std::filesystem::path& dir) {
  return dir / "template.json";
}

std::vector<std::string> device_set(const std::vector<std::string>& argv) {
  static const std::vector<std::string> kept{"-machine", "-accel", "-cpu", "-smp", "-m", "-device"};
  std::vector<std::string> set;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (std::find(kept.begin(), kept.end(), argv[i]) == kept.end())
      continue;
    std::string value = argv[i + 1];
    if (value.rfind("virtio-net-pci,", 0) == 0)
      if (const auto at = value.find(",mac="); at != std::string::npos) {
        const auto end = value.find(',', at + 1);
        value.erase(at, end == std::string::npos ? std::string::npos : end - at);
      }
    set.push_back(argv[i] + " " + value);
    ++i;
  }
  return set;
}

std::string firmware_name(lab::Firmware firmware) {
  switch (firmware) {
  case lab::Firmware::bios: return "bios";
  case lab::Firmware::uefi: return "uefi";
  case lab::Firmware::uefi_secure: return "uefi-secure";
  }
  return "bios";
}

std::string qemu_version_of(std::string_view line) {
  constexpr std::string_view prefix = "QEMU emulator version ";
  if (line.rfind(prefix, 0) == 0)
    line.remove_prefix(prefix.size());
  return std::string(line);
}

namespace {

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items)
    out.emplace_back(s);
  return out;
}

json::object to_json(const TemplateRecord& r) {
  json::array nics, files;
  for (const auto& n : r.nics)
    nics.push_back(json::object{{"network", n.network}, {"mac", n.mac}, {"address", n.address}});
  for (const auto& f : r.files)
    files.push_back(json::object{
        {"role", f.role}, {"file", f.file}, {"sha256", f.sha256}, {"stamp", stamp_json(f.stamp)}});
  return {{"kind", "kvmrun-template"},
          {"version", 1},
          {"name", r.name},
          {"created", r.created},
          {"from", json::object{{"lab", r.lab},
                                {"instance", r.instance},
                                {"instance_id", r.instance_id},
                                {"image", r.image},
                                {"base_digest", r.base_digest},
                                {"base_file", r.base_file},
                                {"hostname", r.hostname}}},
          {"restore", json::object{{"qemu_version", r.qemu_version},
                                   {"accel", r.accel},
                                   {"cpus", r.cpus},
                                   {"memory_bytes", r.memory_bytes},
                                   {"firmware", r.firmware},
                                   {"firmware_code", r.firmware_code},
                                   {"firmware_sha256", r.firmware_sha256},
                                   {"devices", string_array(r.devices)},
                                   {"nics", std::move(nics)},
                                   {"disks", string_array(r.disks)}}},
          {"files", std::move(files)},
          {"save", json::object{{"state_bytes", r.state_bytes},
                                {"ram_bytes", r.ram_bytes},
                                {"save_ms", r.save_ms},
                                {"instance_after", r.instance_after}}}};
}

Result<std::uint64_t> unsigned_of(const JsonRecord& r, std::string_view key) {
  auto v = r.integer(key);
  if (!v)
    return std::move(v).error();
  if (*v < 0)
    return Error(ErrorCode::io, r.source() + ": field \"" + std::string(key) + "\" is negative");
  return static_cast<std::uint64_t>(*v);
}

Result<TemplateRecord> from_json(const JsonRecord& doc) {
  auto kind = doc.string("kind");
  if (!kind)
    return std::move(kind).error();
  if (*kind != "kvmrun-template")
    return Error(ErrorCode::io,
                 doc.source() + ": not a kvmrun template record (kind \"" + *kind + "\")");
  auto from = doc.object("from");
  auto restore = doc.object("restore");
  auto save = doc.object("save");
  auto name = doc.string("name");
  auto created = doc.string("created");
  auto file_docs = doc.objects("files");
  if (auto e = first_error(from, restore, save, name, created, file_docs))
    return *e;
  TemplateRecord r;
  r.name = *name;
  r.created = *created;
  auto lab = from->string("lab"), instance = from->string("instance"),
       instance_id = from->string("instance_id"), image = from->string("image"),
       base_digest = from->string("base_digest"), base_file = from->string("base_file"),
       hostname = from->string("hostname");
  auto qemu_version = restore->string("qemu_version"), accel = restore->string("accel"),
       firmware = restore->string("firmware"), firmware_code = restore->string("firmware_code"),
       firmware_sha256 = restore->string("firmware_sha256");
  auto cpus = unsigned_of(*restore, "cpus"), memory = unsigned_of(*restore, "memory_bytes");
  auto devices = restore->strings("devices"), disks = restore->strings("disks");
  auto nic_docs = restore->objects("nics");
  auto state_bytes = unsigned_of(*save, "state_bytes"), ram_bytes = unsigned_of(*save, "ram_bytes"),
       save_ms = unsigned_of(*save, "save_ms");
  auto after = save->string("instance_after");
  if (auto e =
          first_error(lab, instance, instance_id, image, base_digest, base_file, hostname,
                      qemu_version, accel, firmware, firmware_code, firmware_sha256, cpus, memory,
                      devices, disks, nic_docs, state_bytes, ram_bytes, save_ms, after))
    return *e;
  r.lab = *lab;
  r.instance = *instance;
  r.instance_id = *instance_id;
  r.image = *image;
  r.base_digest = *base_digest;
  r.base_file = *base_file;
  r.hostname = *hostname;
  r.qemu_version = *qemu_version;
  r.accel = *accel;
  r.cpus = static_cast<unsigned>(*cpus);
  r.memory_bytes = *memory;
  r.firmware = *firmware;
  r.firmware_code = *firmware_code;
  r.firmware_sha256 = *firmware_sha256;
  r.devices = *devices;
  r.disks = *disks;
  r.state_bytes = *state_bytes;
  r.ram_bytes = *ram_bytes;
  r.save_ms = *save_ms;
  r.instance_after = *after;
  for (const auto& n : *nic_docs) {
    auto network = n.string("network"), mac = n.string("mac"), address = n.string("address");
    if (auto e = first_error(network, mac, address))
      return *e;
    r.nics.push_back({*network, *mac, *address});
  }
  for (const auto& f : *file_docs) {
    auto role = f.string("role"), file = f.string("file"), sha = f.string("sha256");
    auto stamp_doc = f.object("stamp");
    if (auto e = first_error(role, file, sha, stamp_doc))
      return *e;
    const auto stamp = stamp_from(*stamp_doc);
    if (!stamp)
      return Error(ErrorCode::io, stamp_doc->source() + ": expected size, inode and mtime_ns");
    if (file->empty() || file->find('/') != std::string::npos || *file == "." || *file == "..")
      return Error(ErrorCode::io, f.source() + ": \"file\" is not a file name: \"" + *file + "\"");
    r.files.push_back({*role, *file, *sha, *stamp});
  }
  const auto has = [&](std::string_view role) {
    return std::any_of(r.files.begin(), r.files.end(),
                       [&](const TemplateFile& f) { return f.role == role; });
  };
  if (!has("state") || !has("disk"))
    return Error(ErrorCode::io, doc.source() + ": the record lists no state or no disk file");
  return r;
}

} // namespace

Status write_record(const std::filesystem::path& dir, const TemplateRecord& record) {
  return write_file_atomic(record_file(dir), json::serialize(to_json(record)) + "\n", 0444);
}

Result<TemplateRecord> read_record(const std::filesystem::path& dir) {
  const auto file = record_file(dir);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec))
    return Error(ErrorCode::config,
                 "no template '" + dir.filename().string() + "' (no " + dir.string() + ")",
                 "`kvmrun template list` shows the templates; `kvmrun template save INSTANCE " +
                     dir.filename().string() + "` makes one from a ready instance");
  auto doc = JsonRecord::load(file, 4U << 20U);
  auto r = doc ? from_json(*doc) : Result<TemplateRecord>(std::move(doc).error());
  if (!r) {
    Error e = std::move(r).error();
    e.set_remedy("the template's record is damaged; `kvmrun template delete " +
                 dir.filename().string() + "` and save it again");
    return e;
  }
  if (r->name != dir.filename().string())
    return Error(ErrorCode::io,
                 file.string() + " names template '" + r->name + "', not '" +
                     dir.filename().string() + "'",
                 "the directory was renamed by hand; rename it back to " + r->name);
  return r;
}

std::vector<Listed> list_templates(const std::filesystem::path& root) {
  std::vector<Listed> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(root, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.empty() || name.front() == '.' || !it->is_directory(ec))
      continue;
    out.push_back({name, read_record(it->path())});
  }
  std::sort(out.begin(), out.end(),
            [](const Listed& a, const Listed& b) { return a.name < b.name; });
  return out;
}

Status verify_files(const std::filesystem::path& dir, const TemplateRecord& record, bool full,
                    std::string* how) {
  std::size_t hashed = 0;
  for (const auto& f : record.files) {
    const auto path = dir / f.file;
    const std::string remedy = "the template's files changed since it was saved; `kvmrun "
                               "template delete " +
                               record.name + "` and save it again";
    auto stamp = stamp_file(path);
    if (!stamp)
      return Error(ErrorCode::image,
                   "template '" + record.name + "': its " + f.role +
                       " file is missing or unreadable (" + stamp.error().message() + ")",
                   remedy);
    if (!full && *stamp == f.stamp)
      continue;
    auto digest = hash_file(path, DigestAlgorithm::sha256);
    if (!digest)
      return std::move(digest).error().add_context("verifying template " + record.name);
    ++hashed;
    if (*digest != f.sha256)
      return Error(ErrorCode::image,
                   "template '" + record.name + "': " + path.string() + " has sha256 " + *digest +
                       ", the template recorded " + f.sha256,
                   remedy);
  }
  if (how != nullptr)
    *how = hashed == 0 ? "files unchanged since saved (size, inode, mtime)"
                       : std::to_string(hashed) + " file(s) hashed, digests match";
  return {};
}

Status check_clone(const TemplateRecord& t, const lab::InstanceSpec& clone,
                   const lab::ImageSpec& image, const CloneHost& host) {
  const std::string who =
      "instance '" + clone.name + "' cannot be a clone of template '" + t.name + "': ";
  const std::string resave = "save the template again from an instance like this one (`kvmrun "
                             "template save INSTANCE " +
                             t.name + "`)";
  if (host.qemu_version != t.qemu_version)
    return Error(ErrorCode::host,
                 who + "it was saved by QEMU " + t.qemu_version + ", this host runs QEMU " +
                     host.qemu_version + " (a saved state loads only into the QEMU that wrote it)",
                 resave);
  if (host.accel != t.accel)
    return Error(ErrorCode::host,
                 who + "it was saved under " + t.accel + ", the clone would run under " +
                     host.accel,
                 "run with --accel " + t.accel + ", or " + resave);
  if (clone.image != t.image)
    return Error(ErrorCode::config,
                 who + "it was saved from image '" + t.image + "', the instance declares image '" +
                     clone.image + "'",
                 "set image = \"" + t.image + "\" for " + clone.name);
  if (clone.cpus != t.cpus)
    return Error(ErrorCode::config,
                 who + "it has " + std::to_string(t.cpus) + " CPU(s), the instance " +
                     std::to_string(clone.cpus),
                 "set cpus = " + std::to_string(t.cpus) + " for " + clone.name);
  if (clone.memory_bytes != t.memory_bytes)
    return Error(
        ErrorCode::config,
        who + "it has " + std::to_string(t.memory_bytes >> 20U) + " MiB of memory, the instance " +
            std::to_string(clone.memory_bytes >> 20U) + " MiB",
        "set memory = \"" + std::to_string(t.memory_bytes >> 20U) + "MiB\" for " + clone.name);
  if (firmware_name(image.firmware) != t.firmware || host.firmware_sha256 != t.firmware_sha256)
    return Error(ErrorCode::host,
                 who + "it was saved with firmware " + t.firmware +
                     (t.firmware_code.empty() ? "" : " (" + t.firmware_code + ")") +
                     ", the clone would boot " + firmware_name(image.firmware) +
                     (host.firmware_sha256.empty() ? "" : " with other OVMF code"),
                 resave);
  const auto devices = device_set(host.argv);
  for (std::size_t i = 0; i < std::max(devices.size(), t.devices.size()); ++i) {
    const std::string mine = i < devices.size() ? devices[i] : "(nothing)";
    const std::string theirs = i < t.devices.size() ? t.devices[i] : "(nothing)";
    if (mine != theirs)
      return Error(ErrorCode::config,
                   who + "its QEMU had `" + theirs + "` where the clone's would have `" + mine +
                       "` (the saved device state needs the same devices in the same order)",
                   "give " + clone.name + " the template's disks, networks and devices, or " +
                       resave);
  }
  return {};
}

Status adopt_nics(const TemplateRecord& t, lab::InstanceSpec& clone) {
  std::vector<const TemplateNic*> lan;
  for (const auto& n : t.nics) {
    if (n.network.empty()) {
      clone.seed.network.mac = n.mac;
      if (n.address.empty())
        clone.seed.network.address.reset();
      else
        clone.seed.network.address = n.address;
    } else {
      lan.push_back(&n);
    }
  }
  const std::string who = "instance '" + clone.name + "' (a clone of template '" + t.name + "')";
  if (lan.size() != clone.attachments.size())
    return Error(ErrorCode::config,
                 who + " is on " + std::to_string(clone.attachments.size()) +
                     " lab network(s); the template's guest was on " + std::to_string(lan.size()),
                 "attach the clone to the template's networks");
  for (std::size_t i = 0; i < lan.size(); ++i) {
    auto& at = clone.attachments[i];
    if (at.network != lan[i]->network || at.address != lan[i]->address)
      return Error(ErrorCode::config,
                   who + ": its NIC " + std::to_string(i + 1) + " is " + at.address + " on " +
                       at.network + ", but the restored guest keeps " + lan[i]->address + " on " +
                       lan[i]->network + " (kvmrun does not re-address a clone)",
                   "declare address = \"" + lan[i]->address + "\" on network " + lan[i]->network +
                       " for " + clone.name);
    at.mac = lan[i]->mac;
    if (i < clone.seed.segment_nics.size())
      clone.seed.segment_nics[i].mac = lan[i]->mac;
  }
  return {};
}

} // namespace kvmrun::templates
