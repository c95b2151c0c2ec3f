// qcow2 images written and read in-process (QEMU's docs/interop/qcow2.txt, version 3).
//
// Writing: a new, empty image — a blank disk, or an overlay whose backing file and backing
// format are always recorded, so QEMU never probes the backing file's format.
// Reading: the header of an image treated as hostile input (checked arithmetic, size caps),
// with a verdict on whether it is safe to use as a base image.
#pragma once

#include "base/disk_format.hpp"
#include "base/file_io.hpp"
#include "base/result.hpp"
#include "images/qcow2_layout.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::images {

inline constexpr unsigned default_cluster_bits = 16; // 64 KiB clusters, as qemu-img

struct Qcow2Spec {
  std::uint64_t virtual_size = 0;               // bytes, a multiple of 512
  unsigned cluster_bits = default_cluster_bits; // 9 (512 B) to 21 (2 MiB)
  std::string backing_file;                     // empty: no backing file
  DiskFormat backing_format = DiskFormat::qcow2;
};

// The complete bytes of a new, empty image: header cluster, refcount table, one refcount
// block, and an all-zero L1 table. Pure. ErrorCode::disk for an impossible spec.
[[nodiscard]] Result<std::string> build_qcow2(const Qcow2Spec& spec);

// Writes a new image at `path` (mode 0600); never replaces an existing file. By default the
// file and its directory are fsynced; provisioning passes Durability::file_synced and syncs the
// instance directory once for all its files.
[[nodiscard]] Status create_qcow2(const std::filesystem::path& path, const Qcow2Spec& spec,
                                  Durability durability = Durability::durable);

// What an image header says. Fields past `format`/sizes are for qcow2 only.
struct ImageInfo {
  std::filesystem::path path;
  DiskFormat format = DiskFormat::qcow2;
  std::uint64_t virtual_size = 0;
  std::uint64_t file_size = 0;
  unsigned version = 0;
  unsigned cluster_bits = 0;
  unsigned refcount_bits = 0;
  std::uint32_t crypt_method = 0;
  std::uint32_t snapshots = 0;
  std::uint64_t incompatible_features = 0;
  std::uint64_t compatible_features = 0;
  std::uint64_t autoclear_features = 0;
  std::string backing_file;                 // as recorded (may be relative)
  std::optional<DiskFormat> backing_format; // absent: not recorded
  std::string backing_format_text;          // as recorded, even if unknown
  std::string data_file;                    // external data file name, if recorded
  std::vector<std::string> problems;        // unsafe in any role: corrupt, unknown features, ...
  std::vector<std::string> notes;           // worth knowing: dirty bit, lazy refcounts, snapshots

  [[nodiscard]] bool dirty() const { return (incompatible_features & qcow2::dirty_bit) != 0; }
  [[nodiscard]] bool corrupt() const { return (incompatible_features & qcow2::corrupt_bit) != 0; }
  [[nodiscard]] bool external_data() const {
    return (incompatible_features & qcow2::external_data_bit) != 0;
  }
  [[nodiscard]] bool has_backing() const { return !backing_file.empty(); }
  // Reasons this image must not be a base image: its problems, plus any backing file.
  [[nodiscard]] std::vector<std::string> unsafe_as_base() const;
};

// Parses the first bytes of a qcow2 file (at least the header cluster, or the whole file if
// shorter). Pure; `file_size` bounds every offset. ErrorCode::disk when it is not a readable
// qcow2 header at all; feature-level dangers land in ImageInfo::problems.
[[nodiscard]] Result<ImageInfo> parse_qcow2_header(std::string_view head, std::uint64_t file_size);

// Inspects `path` as the format the caller declares (never probed). Reads at most the header
// cluster. ErrorCode::io if unreadable, ErrorCode::disk if it is not what was declared.
[[nodiscard]] Result<ImageInfo> inspect_image(const std::filesystem::path& path,
                                              DiskFormat declared);

// The chain from `path` down through its recorded backing files (resolved relative to the
// image that names them), each inspected as the format recorded for it. Stops with an error
// on a missing file, an unrecorded backing format, a loop, or more than 16 levels.
[[nodiscard]] Result<std::vector<ImageInfo>> inspect_chain(const std::filesystem::path& path,
                                                           DiskFormat declared);

} // namespace kvmrun::images
