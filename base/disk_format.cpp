#include "base/disk_format.hpp"

namespace kvmrun {

std::string_view to_string(DiskFormat format) {
  return format == DiskFormat::raw ? "raw" : "qcow2";
}

std::optional<DiskFormat> parse_disk_format(std::string_view text) {
  if (text == "qcow2")
    return DiskFormat::qcow2;
  if (text == "raw")
    return DiskFormat::raw;
  return std::nullopt;
}

} // namespace kvmrun
