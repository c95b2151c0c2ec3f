// Parsers and validators for the scalar values of a lab definition. Pure; each returns nullopt
// (or false) on anything it does not accept, and the loader turns that into a located error.
#pragma once

#include "lab/lab_spec.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvmrun::lab {

// "512MiB", "2GiB", "1.5GiB" is refused; units B, KiB, MiB, GiB, TiB (K, M, G, T alike).
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);
// "500ms", "90s", "5m", "1h".
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Lab, instance, image and disk names: 1 to 32 of [a-z0-9-], starting with a letter, not
// ending with '-'. Names become file names, socket paths and host names, so nothing else.
[[nodiscard]] bool is_valid_name(std::string_view name);
// A snapshot tag: 1 to 64 of [a-z0-9-_.].
[[nodiscard]] bool is_valid_snapshot_tag(std::string_view tag);
// POSIX user names as Debian's adduser accepts them: [a-z_][a-z0-9_-]*, at most 32.
[[nodiscard]] bool is_valid_user_name(std::string_view name);
// A host name (RFC 1123 labels separated by dots, at most 253 characters).
[[nodiscard]] bool is_valid_hostname(std::string_view name);

// "52:54:00:AB:cd:01" -> "52:54:00:ab:cd:01"; nullopt unless six hex pairs of a unicast MAC.
[[nodiscard]] std::optional<std::string> parse_mac(std::string_view text);
[[nodiscard]] bool is_valid_ipv4(std::string_view text);
// "10.0.2.20/24" with a prefix from 1 to 32.
[[nodiscard]] bool is_valid_ipv4_cidr(std::string_view text);
[[nodiscard]] bool is_loopback_ipv4(std::string_view text);
// A dotted-quad IPv4 address as a number (host byte order), and back.
[[nodiscard]] std::optional<std::uint32_t> parse_ipv4(std::string_view text);
[[nodiscard]] std::string format_ipv4(std::uint32_t address);
// The netmask of a prefix length (0 to 32).
[[nodiscard]] std::uint32_t ipv4_mask(unsigned prefix);

// "sha256:<64 hex>" or "sha512:<128 hex>".
[[nodiscard]] std::optional<HexDigest> parse_checksum(std::string_view text);

// Octal file permissions "0644" (3 or 4 digits).
[[nodiscard]] bool is_valid_permissions(std::string_view text);

} // namespace kvmrun::lab
