#include "tests/support/png.hpp"

#include <zlib.h>

#include <cstdlib>
#include <string>

namespace kvmrun::testing {

namespace {

std::uint32_t be32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24U |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16U |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8U |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

Error bad(const std::string& why) {
  return Error(ErrorCode::io, "not a PNG kvmrun's tests read: " + why);
}

int paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

} // namespace

Result<Image> decode_png(std::string_view bytes) {
  if (bytes.size() < 8 || bytes.substr(0, 8) != std::string_view("\x89PNG\r\n\x1a\n", 8))
    return bad("no signature");
  Image image;
  unsigned channels = 0;
  std::string compressed;
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    const std::uint32_t length = be32(bytes, at);
    if (at + 12 + length > bytes.size())
      return bad("a chunk runs past the end");
    const auto type = bytes.substr(at + 4, 4);
    const auto data = bytes.substr(at + 8, length);
    if (type == "IHDR") {
      if (length < 13)
        return bad("short IHDR");
      image.width = be32(data, 0);
      image.height = be32(data, 4);
      const int depth = static_cast<unsigned char>(data[8]);
      const int colour = static_cast<unsigned char>(data[9]);
      if (depth != 8 || (colour != 2 && colour != 6) || data[12] != 0)
        return bad("not 8-bit non-interlaced RGB or RGBA");
      channels = colour == 2 ? 3 : 4;
    } else if (type == "IDAT") {
      compressed.append(data);
    }
    at += 12 + length;
  }
  if (channels == 0 || image.width == 0 || image.height == 0)
    return bad("no image header");
  const std::size_t stride = static_cast<std::size_t>(image.width) * channels;
  std::string raw((stride + 1) * image.height, '\0');
  uLongf raw_size = raw.size();
  if (::uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                   reinterpret_cast<const Bytef*>(compressed.data()), compressed.size()) != Z_OK ||
      raw_size != raw.size())
    return bad("the image data does not inflate to its size");
  std::vector<unsigned char> prev(stride, 0), row(stride);
  image.pixels.reserve(static_cast<std::size_t>(image.width) * image.height);
  for (std::uint32_t y = 0; y < image.height; ++y) {
    const auto* line = reinterpret_cast<const unsigned char*>(raw.data()) + y * (stride + 1);
    const int filter = line[0];
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= channels ? row[x - channels] : 0;
      const int b = prev[x];
      const int c = x >= channels ? prev[x - channels] : 0;
      int v = line[1 + x];
      switch (filter) {
      case 0: break;
      case 1: v += a; break;
      case 2: v += b; break;
      case 3: v += (a + b) / 2; break;
      case 4: v += paeth(a, b, c); break;
      default: return bad("filter type " + std::to_string(filter));
      }
      row[x] = static_cast<unsigned char>(v);
    }
    for (std::size_t x = 0; x < stride; x += channels)
      image.pixels.push_back(static_cast<std::uint32_t>(row[x]) << 16U |
                             static_cast<std::uint32_t>(row[x + 1]) << 8U | row[x + 2]);
    prev.swap(row);
  }
  return image;
}

} // namespace kvmrun::testing
