#include "lab/network_loader.hpp"

#include "lab/values.hpp"

#include <algorithm>
#include <bit>
#include <map>

namespace kvmrun::lab {

namespace {

using toml_view::Problems;
using toml_view::Scope;

// Linux interface names are at most 15 bytes; the NIC is named after its network.
constexpr std::size_t max_network_name = 12;

// QEMU's user networking: its guests live in 10.0.2.0/24.
constexpr std::uint32_t user_net_base = (10U << 24U) | (2U << 8U);
constexpr unsigned user_net_prefix = 24;

bool overlaps(std::uint32_t a, unsigned a_prefix, std::uint32_t b, unsigned b_prefix) {
  const std::uint32_t mask = ipv4_mask(std::min(a_prefix, b_prefix));
  return (a & mask) == (b & mask);
}

// The netmask a valid "a.b.c.d/N" gives (is_valid_ipv4_cidr checked it).
std::uint32_t ipv4_mask_of_cidr(const std::string& text) {
  unsigned prefix = 0;
  for (const char c : text.substr(text.find('/') + 1))
    prefix = prefix * 10 + static_cast<unsigned>(c - '0');
  return ipv4_mask(prefix);
}

std::string cidr(std::uint32_t base, unsigned prefix) {
  return format_ipv4(base) + "/" + std::to_string(prefix);
}

void read_network(Scope& s, const std::string& name, const toml::node& node, LabSpec& lab) {
  SegmentSpec net;
  net.name = name;
  net.first_line = node.source().begin.line;
  const auto [subnet_node, subnet_path] = s.find("subnet");
  if (auto subnet = s.string("subnet")) {
    const auto slash = subnet->find('/');
    const auto base = parse_ipv4(subnet->substr(0, slash));
    const bool ok = slash != std::string::npos && base && is_valid_ipv4_cidr(*subnet);
    const unsigned prefix =
        ok ? 32U - static_cast<unsigned>(std::countr_zero(ipv4_mask_of_cidr(*subnet))) : 0;
    if (!ok || prefix < 8 || prefix > 30)
      s.problem(*subnet_node, subnet_path,
                "expected an IPv4 subnet with a prefix from 8 to 30, such as "
                "\"192.168.122.0/24\", got \"" +
                    *subnet + "\"");
    else if ((*base & ~ipv4_mask(prefix)) != 0)
      s.problem(*subnet_node, subnet_path,
                "\"" + *subnet + "\" has host bits set; the subnet is " +
                    cidr(*base & ipv4_mask(prefix), prefix));
    else {
      net.subnet = *subnet;
      net.base = *base;
      net.prefix = prefix;
    }
  } else if (subnet_node == nullptr) {
    s.missing("subnet", "missing; every network needs a subnet such as \"192.168.122.0/24\"");
  }
  const auto [gw_node, gw_path] = s.find("gateway");
  if (auto gw = s.checked_string("gateway", is_valid_ipv4, "expected an IPv4 address")) {
    const auto address = *parse_ipv4(*gw);
    if (!net.subnet.empty() && (address & ipv4_mask(net.prefix)) != net.base)
      s.problem(*gw_node, gw_path, *gw + " is outside the network's subnet " + net.subnet);
    else
      net.gateway = *gw;
  }
  if (auto bridge = s.checked_string(
          "bridge",
          [](std::string_view b) {
            return !b.empty() && b.size() <= 15 &&
                   b.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789_.-") == std::string_view::npos;
          },
          "expected the name of an existing host bridge (1 to 15 of [A-Za-z0-9_.-])"))
    net.bridge = *bridge;
  s.finish();
  lab.networks.push_back(std::move(net));
}

} // namespace

void read_networks(Scope& top, const toml::table& root, Problems& problems, LabSpec& lab) {
  Scope networks = top.table("networks");
  const toml::node* node = root.get("networks");
  if (node == nullptr || node->as_table() == nullptr)
    return;
  for (const auto& [key, value] : *node->as_table()) {
    const std::string name(key.str());
    if (!is_valid_name(name) || name.size() > max_network_name) {
      problems.add(key.source(), "networks." + name,
                   "network names are 1 to 12 of [a-z0-9-] starting with a letter (each "
                   "becomes the name of a guest's network interface)");
      continue;
    }
    Scope net = networks.table(name);
    if (net.present())
      read_network(net, name, value, lab);
  }
  std::sort(lab.networks.begin(), lab.networks.end(),
            [](const SegmentSpec& a, const SegmentSpec& b) { return a.first_line < b.first_line; });
}

void read_attachments(Scope& s, const std::string& lab, InstanceSpec& inst) {
  if (auto user = s.boolean("user_network"))
    inst.user_network = *user;
  for (const auto& [table, path] : s.tables("networks")) {
    Scope a(s.problems(), {{table, path}});
    Attachment at;
    at.path = path;
    at.line = table->source().begin.line;
    at.column = table->source().begin.column;
    const auto [name_node, name_path] = a.find("name");
    if (auto name = a.string("name"))
      at.network = *name;
    else if (name_node == nullptr)
      a.missing("name", "missing; name the network from [networks] to attach to");
    const auto [addr_node, addr_path] = a.find("address");
    if (auto address = a.checked_string(
            "address", is_valid_ipv4,
            "expected an IPv4 address such as \"192.168.122.10\" (the prefix is the network's)"))
      at.address = *address;
    else if (addr_node == nullptr)
      a.missing("address", "missing; every NIC on a lab network has a static address");
    const auto [mac_node, mac_path] = a.find("mac");
    if (auto mac = a.string("mac")) {
      if (auto parsed = parse_mac(*mac))
        at.mac = *parsed;
      else
        a.problem(*mac_node, mac_path, "expected a unicast MAC such as \"52:54:00:12:34:56\"");
    }
    if (at.mac.empty() && !at.network.empty())
      at.mac = deterministic_mac(lab, inst.name, at.network);
    a.finish();
    inst.attachments.push_back(std::move(at));
  }
}

void check_networks(Problems& problems, const toml::table& root, LabSpec& lab) {
  std::map<std::string, std::string> macs;                            // mac -> "instance (what)"
  std::map<std::pair<std::string, std::uint32_t>, std::string> taken; // (network, addr) -> instance
  for (const auto& inst : lab.instances)
    if (inst.user_network)
      macs.emplace(inst.seed.network.mac, inst.name);
  for (auto& inst : lab.instances) {
    inst.seed.user_nic = inst.user_network;
    if (!inst.user_network && !inst.forwards.empty())
      problems.add(root["instances"][inst.name].node()->source(),
                   "instances." + inst.name + ".forwards",
                   "forwards need the user-mode NIC, which user_network = false turns off");
    std::vector<const SegmentSpec*> mine;
    for (const auto& at : inst.attachments) {
      const SegmentSpec* net = lab.find_network(at.network);
      if (net == nullptr) {
        std::string known;
        for (const auto& n : lab.networks)
          known += (known.empty() ? "" : ", ") + n.name;
        problems.add_at(at.line, at.column, at.path + ".name",
                        "no network \"" + at.network + "\" in [networks]" +
                            (known.empty() ? std::string("; declare [networks.") + at.network +
                                                 "] with a subnet"
                                           : " (it has: " + known + ")"));
        continue;
      }
      if (net->subnet.empty())
        continue; // its own problem was reported
      for (const auto* other : mine) {
        if (other == net)
          problems.add_at(at.line, at.column, at.path,
                          "instance " + inst.name + " is attached to " + net->name + " twice");
        else if (overlaps(net->base, net->prefix, other->base, other->prefix))
          problems.add_at(at.line, at.column, at.path,
                          net->name + " (" + net->subnet + ") overlaps " + other->name + " (" +
                              other->subnet + "), which " + inst.name + " is attached to as well");
      }
      if (inst.user_network && overlaps(net->base, net->prefix, user_net_base, user_net_prefix))
        problems.add_at(at.line, at.column, at.path,
                        net->name + " (" + net->subnet +
                            ") overlaps user networking's 10.0.2.0/24 on this instance; pick "
                            "another subnet, or set user_network = false");
      mine.push_back(net);
      if (const auto address = parse_ipv4(at.address)) {
        const std::uint32_t host = *address & ~ipv4_mask(net->prefix);
        if ((*address & ipv4_mask(net->prefix)) != net->base)
          problems.add_at(at.line, at.column, at.path + ".address",
                          at.address + " is outside " + net->name + "'s subnet " + net->subnet);
        else if (host == 0 || host == ~ipv4_mask(net->prefix))
          problems.add_at(at.line, at.column, at.path + ".address",
                          at.address + " is the " + (host == 0 ? "network" : "broadcast") +
                              " address of " + net->subnet);
        else if (!net->gateway.empty() && at.address == net->gateway)
          problems.add_at(at.line, at.column, at.path + ".address",
                          at.address + " is " + net->name + "'s gateway");
        else if (auto [it, fresh] = taken.emplace(std::make_pair(net->name, *address), inst.name);
                 !fresh)
          problems.add_at(at.line, at.column, at.path + ".address",
                          at.address + " on " + net->name + " is also " + it->second + "'s");
      }
      if (auto [it, fresh] = macs.emplace(at.mac, inst.name + " on " + net->name); !fresh)
        problems.add_at(at.line, at.column, at.path + ".mac",
                        at.mac + " is also the MAC of " + it->second +
                            "; give one of them its own mac");
    }
  }
  if (!problems.empty())
    return;
  // Each seed: its NICs, and /etc/hosts with every member of every network it is on. A bare
  // name resolves to the member's address on the first network (in file order) both share.
  for (auto& inst : lab.instances) {
    inst.seed.segment_nics.clear();
    inst.seed.hosts.clear();
    for (const auto& at : inst.attachments) {
      const SegmentSpec* net = lab.find_network(at.network);
      inst.seed.segment_nics.push_back(seeds::SegmentNicSpec{
          net->name, at.mac, at.address + "/" + std::to_string(net->prefix), net->gateway});
    }
    std::map<std::string, bool> named; // members whose bare name is placed
    for (const auto& net : lab.networks) {
      const auto on = [&](const InstanceSpec& i) {
        return std::any_of(i.attachments.begin(), i.attachments.end(),
                           [&](const Attachment& a) { return a.network == net.name; });
      };
      if (!on(inst))
        continue;
      for (const auto& member : lab.instances) {
        if (!on(member))
          continue;
        const auto at = std::find_if(member.attachments.begin(), member.attachments.end(),
                                     [&](const Attachment& a) { return a.network == net.name; });
        seeds::HostEntry entry{at->address, {member.name + "." + net.name}};
        if (!named[member.name]) {
          entry.names.push_back(member.name);
          named[member.name] = true;
        }
        inst.seed.hosts.push_back(std::move(entry));
      }
    }
  }
}

} // namespace kvmrun::lab
