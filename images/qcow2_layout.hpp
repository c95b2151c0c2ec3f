// The qcow2 on-disk header as QEMU's docs/interop/qcow2.txt lays it out ("Header" and "Header
// extensions"): every offset, magic number and feature bit kvmrun writes or reads, and the
// big-endian helpers both sides use. The one description shared by the writer
// (qcow2_writer.cpp), the reader (qcow2_reader.cpp) and the tests.
//
//   byte  0   magic "QFI\xfb"            byte 48  refcount_table_offset (8)
//         4   version (4): 2 or 3              56  refcount_table_clusters (4)
//         8   backing_file_offset (8)          60  nb_snapshots (4)
//        16   backing_file_size (4)            64  snapshots_offset (8)
//        20   cluster_bits (4)           --- version 3 only ---
//        24   size: virtual bytes (8)          72  incompatible_features (8)
//        32   crypt_method (4)                 80  compatible_features (8)
//        36   l1_size: entries (4)             88  autoclear_features (8)
//        40   l1_table_offset (8)              96  refcount_order (4)
//                                             100  header_length (4)
//   then header extensions (type 4, length 4, data padded to 8), ending with type 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kvmrun::images::qcow2 {

inline constexpr std::uint32_t magic = 0x514649FB; // "QFI\xfb"

struct Field {
  std::size_t offset;
  std::size_t size; // bytes, big-endian
};
inline constexpr Field magic_field{0, 4};
inline constexpr Field version{4, 4};
inline constexpr Field backing_file_offset{8, 8};
inline constexpr Field backing_file_size{16, 4};
inline constexpr Field cluster_bits{20, 4};
inline constexpr Field virtual_size{24, 8};
inline constexpr Field crypt_method{32, 4};
inline constexpr Field l1_size{36, 4};
inline constexpr Field l1_table_offset{40, 8};
inline constexpr Field refcount_table_offset{48, 8};
inline constexpr Field refcount_table_clusters{56, 4};
inline constexpr Field nb_snapshots{60, 4};
inline constexpr Field snapshots_offset{64, 8};
inline constexpr Field incompatible_features{72, 8};
inline constexpr Field compatible_features{80, 8};
inline constexpr Field autoclear_features{88, 8};
inline constexpr Field refcount_order{96, 4};
inline constexpr Field header_length{100, 4};

inline constexpr std::size_t v2_header_size = 72;
inline constexpr std::size_t v3_header_size = 104;
inline constexpr std::size_t max_backing_name = 1023; // QEMU refuses longer names

// Header extension types.
inline constexpr std::uint32_t ext_end = 0x00000000;
inline constexpr std::uint32_t ext_backing_format = 0xE2792ACA;
inline constexpr std::uint32_t ext_feature_names = 0x6803F857;
inline constexpr std::uint32_t ext_full_disk_encryption = 0x0537BE77;
inline constexpr std::uint32_t ext_external_data_file = 0x44415441;

// Incompatible feature bits.
inline constexpr std::uint64_t dirty_bit = 1U << 0U;
inline constexpr std::uint64_t corrupt_bit = 1U << 1U;
inline constexpr std::uint64_t external_data_bit = 1U << 2U;
inline constexpr std::uint64_t compression_type_bit = 1U << 3U;
inline constexpr std::uint64_t extended_l2_bit = 1U << 4U;
inline constexpr std::uint64_t known_incompatible = 0x1F;

// Big-endian load and store of `size` bytes at `offset`; the caller checks the bounds.
[[nodiscard]] inline std::uint64_t load_be(std::string_view bytes, std::size_t offset,
                                           std::size_t size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i)
    v = (v << 8U) | static_cast<unsigned char>(bytes[offset + i]);
  return v;
}
inline void store_be(std::string& bytes, std::size_t offset, std::uint64_t v, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i)
    bytes[offset + i] = static_cast<char>((v >> (8 * (size - 1 - i))) & 0xFFU);
}
[[nodiscard]] inline std::uint64_t load(std::string_view bytes, Field f) {
  return load_be(bytes, f.offset, f.size);
}
inline void store(std::string& bytes, Field f, std::uint64_t v) {
  store_be(bytes, f.offset, v, f.size);
}

} // namespace kvmrun::images::qcow2
