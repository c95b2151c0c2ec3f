// An ISO 9660 image with a Joliet tree, written in memory, for cloud-init's NoCloud `cidata`
// volume. Only a flat root directory is needed (user-data, meta-data, network-config,
// vendor-data), which keeps the layout small and fixed; see the diagram in iso9660.cpp.
//
// Deterministic: the same files, options and timestamp give the same bytes.
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kvmrun::seeds {

struct IsoFile {
  std::string name;    // UTF-8; kept exactly in the Joliet tree (up to 64 UCS-2 characters)
  std::string content; // any bytes
};

// The same, referring to bytes the caller keeps alive while the image is built.
struct IsoFileRef {
  std::string_view name;
  std::string_view content;
};

struct IsoOptions {
  std::string volume_id = "cidata"; // up to 16 characters (Joliet's limit)
  std::int64_t timestamp = 0;       // seconds since 1970 (UTC) for every date in the image
};

inline constexpr std::size_t iso_sector_size = 2048;

// Fails with ErrorCode::disk on a name that Joliet cannot carry (empty, too long, containing
// * / : ; ? \ or control characters, invalid UTF-8, outside the BMP), a duplicate name, a bad
// volume id, or an image over 4 GiB.
[[nodiscard]] Result<std::string> build_iso9660(std::span<const IsoFileRef> files,
                                                const IsoOptions& options);
[[nodiscard]] Result<std::string> build_iso9660(std::span<const IsoFile> files,
                                                const IsoOptions& options);

} // namespace kvmrun::seeds
