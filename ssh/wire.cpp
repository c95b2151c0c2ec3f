#include "ssh/wire.hpp"

namespace kvmrun::ssh {

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> static_cast<unsigned>(shift)) & 0xFFU));
}

void put_string(std::string& out, std::string_view bytes) {
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

std::optional<std::string_view> WireReader::bytes(std::size_t count) {
  if (m_failed || count > m_rest.size()) {
    m_failed = true;
    return std::nullopt;
  }
  const auto taken = m_rest.substr(0, count);
  m_rest.remove_prefix(count);
  return taken;
}

std::optional<std::uint32_t> WireReader::u32() {
  const auto b = bytes(4);
  if (!b)
    return std::nullopt;
  std::uint32_t value = 0;
  for (const char c : *b)
    value = (value << 8U) | static_cast<unsigned char>(c);
  return value;
}

std::optional<std::string_view> WireReader::string() {
  const auto size = u32();
  if (!size)
    return std::nullopt;
  return bytes(*size);
}

} // namespace kvmrun::ssh
