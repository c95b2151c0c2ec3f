// UTF-8 decoding shared by the writers that must re-encode or classify text (Joliet names,
// YAML scalars). Strict: no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kvmrun {

// Decodes the code point at `i` into `cp`; returns its length in bytes, 0 when invalid.
inline std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len = 0;
  if ((c & 0xE0U) == 0xC0U) {
    cp = c & 0x1FU;
    len = 2;
  } else if ((c & 0xF0U) == 0xE0U) {
    cp = c & 0x0FU;
    len = 3;
  } else if ((c & 0xF8U) == 0xF0U) {
    cp = c & 0x07U;
    len = 4;
  } else {
    return 0;
  }
  if (i + len > s.size())
    return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0U) != 0x80U)
      return 0;
    cp = (cp << 6U) | (cc & 0x3FU);
  }
  constexpr std::array<std::uint32_t, 5> minimum{0, 0, 0x80, 0x800, 0x10000};
  if (cp < minimum[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

} // namespace kvmrun
