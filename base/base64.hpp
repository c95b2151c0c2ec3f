// Standard base64 (RFC 4648, with padding): cloud-init write_files and the guest agent's
// guest-exec and guest-file-read payloads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kvmrun {

[[nodiscard]] std::string base64_encode(std::string_view bytes);
// nullopt on characters outside the alphabet or bad padding. Whitespace is not accepted.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

} // namespace kvmrun
