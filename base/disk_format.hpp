// The format of a disk image, as a lab's catalog, the image cache, the qcow2 code and QEMU's
// argv name it. Always declared, never probed: the one type every layer shares.
#pragma once

#include <optional>
#include <string_view>

namespace kvmrun {

enum class DiskFormat { qcow2, raw };

[[nodiscard]] std::string_view to_string(DiskFormat format);
// "qcow2" or "raw"; nullopt for anything else.
[[nodiscard]] std::optional<DiskFormat> parse_disk_format(std::string_view text);

} // namespace kvmrun
