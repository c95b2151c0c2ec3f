// Whether a forwarded TCP port is served from inside the guest. User networking accepts the
// host side itself and closes it at once when nothing listens in the guest, so a connection
// counts only if it delivers data or stays open for `settle`.
#pragma once

#include "base/event_loop.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace kvmrun::readiness {

[[nodiscard]] bool port_serves(EventLoop& loop, const std::string& address, std::uint16_t port,
                               std::chrono::milliseconds settle, Deadline deadline);

} // namespace kvmrun::readiness
