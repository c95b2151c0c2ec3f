#include "base/base64.hpp"

#include <array>
#include <cstdint>

namespace kvmrun {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_reverse() {
  std::array<int, 256> r{};
  for (auto& v : r)
    v = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(alphabet[i])] = i;
  return r;
}

constexpr auto reverse = make_reverse();

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t w = 0;
    for (std::size_t k = 0; k < 3; ++k)
      w = (w << 8U) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0U);
    for (std::size_t k = 0; k < 4; ++k)
      out.push_back(k <= n ? alphabet[(w >> (18 - 6 * k)) & 0x3FU] : '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t w = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        w <<= 6U;
        continue;
      }
      const int v = reverse[static_cast<unsigned char>(c)];
      if (v < 0 || pad > 0)
        return std::nullopt;
      w = (w << 6U) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((w >> 16U) & 0xFFU));
    if (pad < 2)
      out.push_back(static_cast<char>((w >> 8U) & 0xFFU));
    if (pad < 1)
      out.push_back(static_cast<char>(w & 0xFFU));
  }
  return out;
}

} // namespace kvmrun
