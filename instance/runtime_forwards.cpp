#include "instance/runtime_forwards.hpp"

#include "base/file_io.hpp"
#include "base/json_record.hpp"

#include <boost/json.hpp>

namespace kvmrun::instance {

Result<std::vector<lab::PortForward>> read_runtime_forwards(const InstancePaths& paths) {
  std::error_code ec;
  if (!std::filesystem::exists(paths.runtime_forwards(), ec))
    return std::vector<lab::PortForward>{};
  auto record = JsonRecord::load(paths.runtime_forwards(), 1U << 20U);
  if (!record)
    return std::move(record).error();
  auto items = record->objects("forwards");
  if (!items)
    return std::move(items).error();
  std::vector<lab::PortForward> out;
  for (const auto& item : *items) {
    auto address = item.string("host_address");
    auto host = item.integer("host_port");
    auto guest = item.integer("guest_port");
    auto protocol = item.string("protocol");
    if (auto e = first_error(address, host, guest, protocol))
      return *e;
    if (*host < 1 || *host > 65535 || *guest < 1 || *guest > 65535 ||
        (*protocol != "tcp" && *protocol != "udp"))
      return Error(ErrorCode::io, item.source() + ": not a forward (ports 1-65535, tcp or udp)",
                   "remove the file; `kvmrun forward add` records forwards again");
    out.push_back(lab::PortForward{*protocol == "udp" ? lab::Protocol::udp : lab::Protocol::tcp,
                                   *address, static_cast<std::uint16_t>(*host),
                                   static_cast<std::uint16_t>(*guest)});
  }
  return out;
}

Status write_runtime_forwards(const InstancePaths& paths,
                              const std::vector<lab::PortForward>& forwards) {
  boost::json::array items;
  for (const auto& f : forwards)
    items.push_back(
        boost::json::object{{"host_address", f.host_address},
                            {"host_port", f.host_port},
                            {"guest_port", f.guest_port},
                            {"protocol", f.protocol == lab::Protocol::udp ? "udp" : "tcp"}});
  const std::string text = boost::json::serialize(boost::json::object{{"forwards", items}}) + "\n";
  if (auto w = write_file_atomic(paths.runtime_forwards(), text, 0600, Durability::regenerated); !w)
    return std::move(w).error().add_context("recording the instance's forwards");
  return {};
}

Result<std::vector<lab::PortForward>> current_forwards(const lab::InstanceSpec& instance,
                                                       const InstancePaths& paths) {
  auto added = read_runtime_forwards(paths);
  if (!added)
    return std::move(added).error().add_context("reading the forwards of " + instance.name);
  std::vector<lab::PortForward> all = instance.forwards;
  all.insert(all.end(), added->begin(), added->end());
  return all;
}

} // namespace kvmrun::instance
