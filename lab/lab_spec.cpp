#include "lab/lab_spec.hpp"

#include "base/digest.hpp"
#include "lab/values.hpp"

#include <charconv>

#include <algorithm>

namespace kvmrun::lab {

Result<const InstanceSpec*> LabSpec::find_instance(std::string_view instance_name) const {
  const auto it = std::find_if(instances.begin(), instances.end(),
                               [&](const InstanceSpec& i) { return i.name == instance_name; });
  if (it != instances.end())
    return &*it;
  std::string known;
  for (const auto& i : instances)
    known += (known.empty() ? "" : ", ") + i.name;
  return Error(ErrorCode::config, "no instance '" + std::string(instance_name) + "' in " + source,
               "the lab's instances are: " + known);
}

std::string_view to_string(DiskCache cache) {
  switch (cache) {
  case DiskCache::none: return "none";
  case DiskCache::unsafe: return "unsafe";
  case DiskCache::writeback: break;
  }
  return "writeback";
}

std::string_view to_string(DiskAio aio) {
  switch (aio) {
  case DiskAio::native: return "native";
  case DiskAio::io_uring: return "io_uring";
  case DiskAio::threads: break;
  }
  return "threads";
}

void apply_interface_names(LabSpec& lab) {
  for (auto& i : lab.instances)
    if (const auto image = lab.images.find(i.image); image != lab.images.end())
      i.seed.rename_nics = image->second.interface_names == InterfaceNames::kvmrun;
}

std::string forward_text(const PortForward& f) {
  return f.host_address + ":" + std::to_string(f.host_port) + "->" + std::to_string(f.guest_port) +
         (f.protocol == Protocol::udp ? "/udp" : "");
}

std::optional<PortForward> parse_forward_spec(std::string_view spec, bool public_bind) {
  PortForward f;
  f.host_address = public_bind ? "0.0.0.0" : "127.0.0.1";
  if (spec.ends_with("/udp")) {
    f.protocol = Protocol::udp;
    spec.remove_suffix(4);
  } else if (spec.ends_with("/tcp")) {
    spec.remove_suffix(4);
  }
  const auto port = [](std::string_view text) -> std::optional<std::uint16_t> {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v == 0 || v > 65535)
      return std::nullopt;
    return static_cast<std::uint16_t>(v);
  };
  const auto last = spec.rfind(':');
  if (last == std::string_view::npos)
    return std::nullopt;
  const auto guest = port(spec.substr(last + 1));
  spec = spec.substr(0, last);
  const auto middle = spec.rfind(':');
  if (middle != std::string_view::npos) {
    const auto host = spec.substr(0, middle);
    if (!is_valid_ipv4(host))
      return std::nullopt;
    f.host_address = std::string(host);
    spec = spec.substr(middle + 1);
  }
  const auto host_port = port(spec);
  if (!guest || !host_port)
    return std::nullopt;
  f.host_port = *host_port;
  f.guest_port = *guest;
  return f;
}

bool same_host_port(const PortForward& a, const PortForward& b) {
  return a.protocol == b.protocol && a.host_port == b.host_port &&
         (a.host_address == b.host_address || a.host_address == "0.0.0.0" ||
          b.host_address == "0.0.0.0");
}

CpuTopology smp_topology(const InstanceSpec& instance) {
  CpuTopology t = instance.topology;
  if (t.cores == 0)
    t.cores = std::max(1U, instance.cpus / std::max(1U, t.sockets * t.threads));
  return t;
}

std::string guest_disk_device(std::string_view disk_name) {
  return "/dev/disk/by-id/virtio-" + std::string(disk_name);
}

const SegmentSpec* LabSpec::find_network(std::string_view network_name) const {
  const auto it = std::find_if(networks.begin(), networks.end(),
                               [&](const SegmentSpec& n) { return n.name == network_name; });
  return it == networks.end() ? nullptr : &*it;
}

std::string deterministic_mac(std::string_view lab, std::string_view instance,
                              std::string_view network) {
  std::string what(lab);
  what += '/';
  what += instance;
  if (!network.empty()) {
    what += '/';
    what += network;
  }
  const std::string d = digest(DigestAlgorithm::sha256, what);
  return "52:54:00:" + to_hex(d.substr(0, 1)) + ":" + to_hex(d.substr(1, 1)) + ":" +
         to_hex(d.substr(2, 1));
}

} // namespace kvmrun::lab
