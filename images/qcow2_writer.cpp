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
#include "images/qcow2_layout.hpp"

namespace kvmrun::images {

namespace {

using qcow2::store;
using qcow2::store_be;

constexpr std::size_t header_length = qcow2::v3_header_size; // no optional header fields
constexpr unsigned refcount_order = 4;                       // 16-bit refcounts, as qemu-img

std::size_t round_up8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

} // namespace

Result<std::string> build_qcow2(const Qcow2Spec& spec) {
  if (spec.cluster_bits < 9 || spec.cluster_bits > 21)
    return Error(ErrorCode::disk, "cluster size 2^" + std::to_string(spec.cluster_bits) +
                                      " is outside 512 bytes to 2 MiB");
  if (spec.virtual_size == 0 || spec.virtual_size % 512 != 0)
    return Error(ErrorCode::disk, "the virtual size must be a positive multiple of 512 bytes");
  if (spec.backing_file.size() > qcow2::max_backing_name)
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
    store_be(ext, 0, qcow2::ext_backing_format, 4);
    store_be(ext, 4, format.size(), 4);
    ext.replace(8, format.size(), format);
    extensions += ext;
  }
  extensions += std::string(8, '\0'); // type 0 (end), length 0
  store_be(extensions, extensions.size() - 8, qcow2::ext_end, 4);
  const std::size_t backing_offset = header_length + extensions.size();
  if (backing_offset + spec.backing_file.size() > cluster)
    return Error(ErrorCode::disk, "the backing file name does not fit the header cluster",
                 "use a shorter path for the base image or larger clusters");

  std::string image(static_cast<std::size_t>(total_clusters * cluster), '\0');
  store(image, qcow2::magic_field, qcow2::magic);
  store(image, qcow2::version, 3);
  if (!spec.backing_file.empty()) {
    store(image, qcow2::backing_file_offset, backing_offset);
    store(image, qcow2::backing_file_size, spec.backing_file.size());
  }
  store(image, qcow2::cluster_bits, spec.cluster_bits);
  store(image, qcow2::virtual_size, spec.virtual_size);
  store(image, qcow2::crypt_method, 0); // none
  store(image, qcow2::l1_size, l1_size);
  store(image, qcow2::l1_table_offset, l1_first * cluster);
  store(image, qcow2::refcount_table_offset, cluster); // the refcount table is cluster 1
  store(image, qcow2::refcount_table_clusters, refcount_table_clusters);
  store(image, qcow2::nb_snapshots, 0);
  store(image, qcow2::snapshots_offset, 0);
  store(image, qcow2::incompatible_features, 0);
  store(image, qcow2::compatible_features, 0);
  store(image, qcow2::autoclear_features, 0);
  store(image, qcow2::refcount_order, refcount_order);
  store(image, qcow2::header_length, header_length);
  image.replace(header_length, extensions.size(), extensions);
  image.replace(backing_offset, spec.backing_file.size(), spec.backing_file);

  // Refcount table entries point at the blocks; the blocks count every cluster once.
  for (std::uint64_t b = 0; b < refcount_blocks; ++b)
    store_be(image, cluster + b * 8, (refcount_block + b) * cluster, 8);
  for (std::uint64_t c = 0; c < total_clusters; ++c)
    store_be(image, refcount_block * cluster + c * 2, 1, 2); // blocks are contiguous
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
