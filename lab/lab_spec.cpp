#include "lab/lab_spec.hpp"

#include "base/digest.hpp"

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
