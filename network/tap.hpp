// Root mode for a lab network: a tap device on an existing host bridge for one member's NIC,
// made through /dev/net/tun and the bridge ioctls (needs CAP_NET_ADMIN). The tap is not
// persistent: it goes away when the last descriptor of it closes, that is, when its QEMU exits,
// so nothing is left on the host to clean up.
#pragma once

#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <string>
#include <string_view>

namespace kvmrun::network {

// "kv" and 12 hex digits of sha256("<lab>/<instance>/<network>"): unique per NIC, within the
// 15 characters an interface name may have.
[[nodiscard]] std::string tap_name(std::string_view lab, std::string_view instance,
                                   std::string_view network);

// Creates tap `name`, brings it up and adds it to `bridge`; the descriptor is QEMU's
// (-netdev tap,fd=N). ErrorCode::host with a remedy when the bridge is missing or kvmrun lacks
// the right (CAP_NET_ADMIN).
[[nodiscard]] Result<UniqueFd> open_tap_on_bridge(const std::string& name,
                                                  const std::string& bridge);

} // namespace kvmrun::network
