// The SSH wire encoding (RFC 4251 section 5) that key blobs and OpenSSH's private key files are
// made of: big-endian uint32 and length-prefixed strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvmrun::ssh {

void put_u32(std::string& out, std::uint32_t value);
void put_string(std::string& out, std::string_view bytes);

// Reads from the front of a byte string. A read past the end is nullopt, and so is every read
// after it: once a value is present, every one read before it is too.
class WireReader {
public:
  explicit WireReader(std::string_view bytes) : m_rest(bytes) {}
  [[nodiscard]] std::optional<std::uint32_t> u32();
  [[nodiscard]] std::optional<std::string_view> string();
  [[nodiscard]] std::optional<std::string_view> bytes(std::size_t count);
  [[nodiscard]] std::string_view rest() const { return m_rest; }

private:
  std::string_view m_rest;
  bool m_failed = false;
};

} // namespace kvmrun::ssh
