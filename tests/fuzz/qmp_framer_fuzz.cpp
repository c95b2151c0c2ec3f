// libFuzzer: QMP/agent framing and JSON parsing on arbitrary bytes, split arbitrarily.
#include "qmp/framer.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  // The first byte chooses the framing mode and the chunk size, the rest is the stream.
  const bool agent = (data[0] & 1U) != 0;
  const std::size_t chunk = 1 + (data[0] >> 1U);
  kvmrun::qmp::LineFramer framer(kvmrun::qmp::FramerLimits{4096, 16, agent});
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<boost::json::object> out;
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    if ((data[0] & 0x80U) != 0 && i == chunk)
      framer.skip_until_sentinel();
    if (!framer.feed(stream.substr(i, chunk), out).ok())
      break;
  }
  return 0;
}
