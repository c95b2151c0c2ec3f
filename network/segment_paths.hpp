// Where a lab network's sockets live, in the lab's 0700 runtime directory (the one layout the
// switch, QEMU's argv and cleanup share):
//
//   <runtime>/<lab>/net-<network>/switch.sock      the switch's datagram socket
//   <runtime>/<lab>/net-<network>/lock             held by the switch for as long as it runs
//   <runtime>/<lab>/<instance>/net-<network>.sock  a member's port: QEMU's end (-netdev dgram)
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kvmrun::network {

struct SwitchPaths {
  std::filesystem::path dir;
  [[nodiscard]] std::filesystem::path socket() const { return dir / "switch.sock"; }
  [[nodiscard]] std::filesystem::path lock() const { return dir / "lock"; }
};

// `lab_runtime` is <runtime>/<lab>.
[[nodiscard]] inline SwitchPaths switch_paths(const std::filesystem::path& lab_runtime,
                                              std::string_view network) {
  return SwitchPaths{lab_runtime / ("net-" + std::string(network))};
}

// `instance_runtime` is <runtime>/<lab>/<instance>.
[[nodiscard]] inline std::filesystem::path
port_socket(const std::filesystem::path& instance_runtime, std::string_view network) {
  return instance_runtime / ("net-" + std::string(network) + ".sock");
}

} // namespace kvmrun::network
