// libFuzzer: the qcow2 header reader on arbitrary bytes (it must never read out of bounds).
#include "images/qcow2.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view head(reinterpret_cast<const char*>(data), size);
  (void)kvmrun::images::parse_qcow2_header(head, size);
  (void)kvmrun::images::parse_qcow2_header(head, size * 4); // a file longer than what was read
  return 0;
}
