// libFuzzer: checksum manifests (downloaded, so untrusted) searched for a file name. The first
// line of the input is the name, the rest the manifest. It never crashes; an answer is always a
// digest of a known algorithm's length, and asking twice gives the same answer.
#include "images/checksums.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const auto name = input.substr(0, nl == std::string_view::npos ? input.size() : nl);
  const auto manifest = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  const auto found = kvmrun::images::find_in_manifest(manifest, name);
  const auto again = kvmrun::images::find_in_manifest(manifest, name);
  if (found.ok() != again.ok())
    std::abort();
  if (found.ok()) {
    const auto& hex = found->hex;
    if (hex.size() != 64 && hex.size() != 128)
      std::abort();
    if (again->hex != hex)
      std::abort();
  }
  return 0;
}
