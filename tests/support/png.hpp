// A PNG read back for tests that check what a browser rendered: 8-bit RGB or RGBA,
// non-interlaced (what Chromium's --screenshot writes), every filter type undone.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace kvmrun::testing {

struct Image {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::vector<std::uint32_t> pixels; // 0xRRGGBB, row by row
};

[[nodiscard]] Result<Image> decode_png(std::string_view bytes);

} // namespace kvmrun::testing
