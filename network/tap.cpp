#include "network/tap.hpp"

#include "base/digest.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kvmrun::network {

namespace {

void set_name(ifreq& ifr, const std::string& name) {
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
}

Error needs_root(const std::string& what, int err, const std::string& bridge) {
  return system_error(ErrorCode::host, what, err,
                      err == EPERM || err == EACCES
                          ? "a network with bridge = \"" + bridge +
                                "\" needs root (CAP_NET_ADMIN); run kvmrun as root, or drop "
                                "bridge to use kvmrun's own switch"
                          : "check the bridge (ip link show " + bridge + ")");
}

} // namespace

std::string tap_name(std::string_view lab, std::string_view instance, std::string_view network) {
  const std::string what =
      std::string(lab) + "/" + std::string(instance) + "/" + std::string(network);
  return "kv" + sha256_hex(what).substr(0, 12);
}

Result<UniqueFd> open_tap_on_bridge(const std::string& name, const std::string& bridge) {
  // In this process's network namespace (sysfs may show another's).
  if (::if_nametoindex(bridge.c_str()) == 0)
    return Error(ErrorCode::host, "there is no interface '" + bridge + "' on this host",
                 "create the bridge (ip link add " + bridge + " type bridge; ip link set " +
                     bridge + " up), or drop bridge to use kvmrun's own switch");
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tun.valid())
    return needs_root("opening /dev/net/tun", errno, bridge);
  ifreq ifr{};
  set_name(ifr, name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(tun.get(), TUNSETIFF, &ifr) != 0)
    return needs_root("creating tap " + name, errno, bridge);
  UniqueFd ctl(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!ctl.valid())
    return system_error(ErrorCode::io, "opening a control socket", errno);
  set_name(ifr, name);
  if (::ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) != 0)
    return needs_root("reading the flags of " + name, errno, bridge);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0)
    return needs_root("bringing " + name + " up", errno, bridge);
  set_name(ifr, name);
  if (::ioctl(ctl.get(), SIOCGIFINDEX, &ifr) != 0)
    return needs_root("finding " + name, errno, bridge);
  const int index = ifr.ifr_ifindex;
  set_name(ifr, bridge);
  ifr.ifr_ifindex = index;
  if (::ioctl(ctl.get(), SIOCBRADDIF, &ifr) != 0) {
    const int err = errno;
    if (err == EOPNOTSUPP || err == EINVAL)
      return Error(ErrorCode::host, "'" + bridge + "' is not a bridge",
                   "name an existing bridge (ip -d link show type bridge)");
    return needs_root("adding " + name + " to bridge " + bridge, err, bridge);
  }
  return tun;
}

} // namespace kvmrun::network
