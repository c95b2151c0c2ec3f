// Writing new qcow2 v3 images (docs/interop/qcow2.txt). Layout, in clusters:
//
//   0            header (104 bytes), header extensions, backing file name
//   1 .. T       refcount table (8 bytes per refcount block; usually one cluster)
//   T+1 .. T+B   refcount blocks (16-bit refcounts; usually one block covers everything)
//   T+B+1 ..     L1 table, all entries zero: every guest cluster is unallocated, so reads fall
//                through to the backing file (or read as zeros without one)
//
// Every cluster of the file is referenced exactly once, so `qemu-img check` finds it clean.
#include "base/file_io.hpp"
#include "images/qcow2.hpp"

namespace kvmrun::images {

namespace {

constexpr std::uint32_t qcow2_magic = 0x514649FB; // "QFI\xfb"
constexpr std::size_t header_length = 104;        // version 3 header up to header_length
constexpr std::uint32_t ext_end = 0x00000000;
constexpr std::uint32_t ext_backing_format = 0xE2792ACA;
constexpr unsigned refcount_order = 4; // 16-bit refcounts, as qemu-img
constexpr std::size_t max_backing_name = 1023;

void put_be(std::string& b, std::size_t at, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i)
    b[at + i] = static_cast<char>((v >> (8 * (bytes - 1 - i))) & 0xFFU);
}

std::size_t round_up8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

} // namespace

Result<std::string> build_qcow2(const Qcow2Spec& spec) {
  if (spec.cluster_bits < 9 || spec.cluster_bits > 21)
    return Error(ErrorCode::disk, "cluster size 2^" + std::to_string(spec.cluster_bits) +
                                      " is outside 512 bytes to 2 MiB");
  if (spec.virtual_size == 0 || spec.virtual_size % 512 != 0)
    return Error(ErrorCode::disk, "the virtual size must be a positive multiple of 512 bytes");
  if (spec.backing_file.size() > max_backing_name)
    return Error(ErrorCode::disk, "the backing file name is longer than 1023 bytes",
                 "use a shorter path for the base image");
  const std::uint64_t cluster = 1ULL << spec.cluster_bits;
  const std::uint64_t l2_entries = cluster / 8;
  const std::uint64_t bytes_per_l1_entry = l2_entries * cluster;
  const std::uint64_t l1_size = (spec.virtual_size + bytes_per_l1_entry - 1) / bytes_per_l1_entry;
  if (l1_size * 8 > (32ULL << 20U)) // QEMU's implementation limit for L1 tables
    return Error(ErrorCode::disk, "the virtual size is too large for this cluster size");
  const std::uint64_t l1_clusters =
      std::max<std::uint64_t>(1, (l1_size * 8 + cluster - 1) / cluster);
  // Refcount blocks must count every cluster, themselves and the table included: grow the
  // table and the blocks until they cover the whole file.
  const std::uint64_t refcounts_per_block = cluster * 8 / (1U << refcount_order);
  std::uint64_t refcount_table_clusters = 1;
  std::uint64_t refcount_blocks = 1;
  std::uint64_t total_clusters = 0;
  while (true) {
    total_clusters = 1 + refcount_table_clusters + refcount_blocks + l1_clusters;
    const std::uint64_t blocks = (total_clusters + refcounts_per_block - 1) / refcounts_per_block;
    const std::uint64_t table = std::max<std::uint64_t>(1, (blocks * 8 + cluster - 1) / cluster);
    if (blocks == refcount_blocks && table == refcount_table_clusters)
      break;
    refcount_blocks = blocks;
    refcount_table_clusters = table;
  }
  const std::uint64_t refcount_block = 1 + refcount_table_clusters; // the first block
  const std::uint64_t l1_first = refcount_block + refcount_blocks;

  // Header extensions: the backing format (always, with a backing file), then the end marker.
  std::string extensions;
  if (!spec.backing_file.empty()) {
    const std::string_view format = to_string(spec.backing_format);
    std::string ext(8 + round_up8(format.size()), '\0');
    put_be(ext, 0, ext_backing_format, 4);
    put_be(ext, 4, format.size(), 4);
    ext.replace(8, format.size(), format);
    extensions += ext;
  }
  extensions += std::string(8, '\0'); // type 0 (end), length 0
  put_be(extensions, extensions.size() - 8, ext_end, 4);
  const std::size_t backing_offset = header_length + extensions.size();
  if (backing_offset + spec.backing_file.size() > cluster)
    return Error(ErrorCode::disk, "the backing file name does not fit the header cluster",
                 "use a shorter path for the base image or larger clusters");

  std::string image(static_cast<std::size_t>(total_clusters * cluster), '\0');
  put_be(image, 0, qcow2_magic, 4);
  put_be(image, 4, 3, 4); // version
  if (!spec.backing_file.empty()) {
    put_be(image, 8, backing_offset, 8);
    put_be(image, 16, spec.backing_file.size(), 4);
  }
  put_be(image, 20, spec.cluster_bits, 4);
  put_be(image, 24, spec.virtual_size, 8);
  put_be(image, 32, 0, 4); // crypt_method: none
  put_be(image, 36, l1_size, 4);
  put_be(image, 40, l1_first * cluster, 8);
  put_be(image, 48, cluster, 8); // refcount table in cluster 1
  put_be(image, 56, refcount_table_clusters, 4);
  put_be(image, 60, 0, 4); // nb_snapshots
  put_be(image, 64, 0, 8); // snapshots_offset
  put_be(image, 72, 0, 8); // incompatible features
  put_be(image, 80, 0, 8); // compatible features
  put_be(image, 88, 0, 8); // autoclear features
  put_be(image, 96, refcount_order, 4);
  put_be(image, 100, header_length, 4);
  image.replace(header_length, extensions.size(), extensions);
  image.replace(backing_offset, spec.backing_file.size(), spec.backing_file);

  // Refcount table entries point at the blocks; the blocks count every cluster once.
  for (std::uint64_t b = 0; b < refcount_blocks; ++b)
    put_be(image, cluster + b * 8, (refcount_block + b) * cluster, 8);
  for (std::uint64_t c = 0; c < total_clusters; ++c)
    put_be(image, refcount_block * cluster + c * 2, 1, 2); // blocks are contiguous
  return image;
}

Status create_qcow2(const std::filesystem::path& path, const Qcow2Spec& spec,
                    Durability durability) {
  auto bytes = build_qcow2(spec);
  if (!bytes)
    return std::move(bytes).error().add_context("creating " + path.string());
  return create_file_exclusive(path, *bytes, 0600, durability).context("creating " + path.string());
}

} // namespace kvmrun::images
