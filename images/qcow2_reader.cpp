// Reading qcow2 headers as hostile input (docs/interop/qcow2.txt). Every offset and length is
// checked against the bytes read and the file size before use; nothing beyond the header
// cluster is read; a malformed header is an error, a dangerous one a listed problem.
#include "images/qcow2.hpp"
#include "images/qcow2_layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

namespace kvmrun::images {

namespace {

using qcow2::known_incompatible;
constexpr std::size_t max_header_read = 2U << 20U; // the largest cluster QEMU opens
constexpr int max_chain_depth = 16;

struct Reader {
  std::string_view bytes;
  bool ok(std::uint64_t at, std::uint64_t len) const {
    return at <= bytes.size() && len <= bytes.size() - at;
  }
  std::uint64_t be(std::uint64_t at, std::size_t len) const {
    return qcow2::load_be(bytes, static_cast<std::size_t>(at), len);
  }
  std::uint64_t field(qcow2::Field f) const { return qcow2::load(bytes, f); }
};

Error bad(std::string what) { return Error(ErrorCode::disk, "not a valid qcow2 image: " + what); }

std::string feature_names(std::uint64_t bits) {
  static constexpr const char* names[] = {"dirty", "corrupt", "external data file",
                                          "compression type", "extended L2 entries"};
  std::string out;
  for (unsigned b = 0; b < 64; ++b)
    if ((bits >> b) & 1U)
      out += (out.empty() ? "" : ", ") +
             (b < 5 ? std::string(names[b]) : "unknown bit " + std::to_string(b));
  return out;
}

} // namespace

std::vector<std::string> ImageInfo::unsafe_as_base() const {
  std::vector<std::string> reasons = problems;
  if (has_backing())
    reasons.push_back("it has a backing file (" + backing_file +
                      "): a base image must stand alone");
  return reasons;
}

Result<ImageInfo> parse_qcow2_header(std::string_view head, std::uint64_t file_size) {
  const Reader r{head};
  ImageInfo info;
  info.format = DiskFormat::qcow2;
  info.file_size = file_size;
  if (!r.ok(0, qcow2::v2_header_size))
    return bad("the file is shorter than a qcow2 header");
  if (r.field(qcow2::magic_field) != qcow2::magic)
    return bad("no qcow2 magic (QFI\\xfb) at the start");
  info.version = static_cast<unsigned>(r.field(qcow2::version));
  if (info.version != 2 && info.version != 3)
    return bad("unsupported version " + std::to_string(info.version));
  const std::uint64_t backing_offset = r.field(qcow2::backing_file_offset);
  const std::uint64_t backing_size = r.field(qcow2::backing_file_size);
  info.cluster_bits = static_cast<unsigned>(r.field(qcow2::cluster_bits));
  if (info.cluster_bits < 9 || info.cluster_bits > 21)
    return bad("cluster_bits " + std::to_string(info.cluster_bits) + " is outside 9 to 21");
  const std::uint64_t cluster = 1ULL << info.cluster_bits;
  info.virtual_size = r.field(qcow2::virtual_size);
  if (info.virtual_size > (1ULL << 56U))
    return bad("a virtual size of " + std::to_string(info.virtual_size) + " bytes is impossible");
  info.crypt_method = static_cast<std::uint32_t>(r.field(qcow2::crypt_method));
  const std::uint64_t l1_size = r.field(qcow2::l1_size);
  const std::uint64_t l1_offset = r.field(qcow2::l1_table_offset);
  const std::uint64_t refcount_table_offset = r.field(qcow2::refcount_table_offset);
  const std::uint64_t refcount_table_clusters = r.field(qcow2::refcount_table_clusters);
  info.snapshots = static_cast<std::uint32_t>(r.field(qcow2::nb_snapshots));
  const std::uint64_t snapshots_offset = r.field(qcow2::snapshots_offset);

  std::uint64_t header_length = qcow2::v2_header_size;
  info.refcount_bits = 16;
  if (info.version == 3) {
    if (!r.ok(0, qcow2::v3_header_size))
      return bad("the file is shorter than a version 3 header");
    info.incompatible_features = r.field(qcow2::incompatible_features);
    info.compatible_features = r.field(qcow2::compatible_features);
    info.autoclear_features = r.field(qcow2::autoclear_features);
    const std::uint64_t refcount_order = r.field(qcow2::refcount_order);
    if (refcount_order > 6)
      return bad("refcount_order " + std::to_string(refcount_order) + " is above 6");
    info.refcount_bits = 1U << refcount_order;
    header_length = r.field(qcow2::header_length);
    if (header_length < qcow2::v3_header_size || header_length % 8 != 0 || header_length > cluster)
      return bad("header_length " + std::to_string(header_length) + " is invalid");
  }

  // Structures must be cluster-aligned and inside the file.
  const auto inside = [&](std::uint64_t offset, std::uint64_t length) {
    return offset % cluster == 0 && offset <= file_size && length <= file_size - offset;
  };
  const std::uint64_t entries_per_l2 = cluster / 8;
  const std::uint64_t needed_l1 =
      (info.virtual_size + entries_per_l2 * cluster - 1) / (entries_per_l2 * cluster);
  if (l1_size < needed_l1)
    return bad("the L1 table has " + std::to_string(l1_size) + " entries, the size needs " +
               std::to_string(needed_l1));
  if (l1_size > (32ULL << 20U) / 8 || !inside(l1_offset, l1_size * 8))
    return bad("the L1 table lies outside the file");
  if (refcount_table_clusters == 0 || refcount_table_clusters > (1U << 20U) ||
      !inside(refcount_table_offset, refcount_table_clusters * cluster))
    return bad("the refcount table lies outside the file");
  if (info.snapshots > 0 && !inside(snapshots_offset, 0))
    return bad("the snapshot table lies outside the file");

  // Header extensions, within the header cluster.
  std::uint64_t at = header_length;
  const std::uint64_t header_end = std::min<std::uint64_t>(cluster, head.size());
  std::set<std::uint64_t> seen;
  while (true) {
    if (info.version == 2)
      break; // version 2 images may have extensions too, but kvmrun only reads v2's basics
    if (at + 8 > header_end)
      return bad("the header extensions run past the header cluster");
    const std::uint64_t type = r.be(at, 4);
    const std::uint64_t length = r.be(at + 4, 4);
    if (type == qcow2::ext_end)
      break;
    const std::uint64_t padded = (length + 7) & ~7ULL;
    if (padded > header_end - at - 8)
      return bad("a header extension runs past the header cluster");
    if (!seen.insert(type).second)
      return bad("header extension 0x" + std::to_string(type) + " appears twice");
    const std::string_view data = head.substr(at + 8, length);
    if (type == qcow2::ext_backing_format) {
      info.backing_format_text = std::string(data);
      info.backing_format = parse_disk_format(data);
    } else if (type == qcow2::ext_external_data_file) {
      info.data_file = std::string(data);
    } else if (type == qcow2::ext_full_disk_encryption) {
      info.problems.push_back("it carries a full disk encryption header");
    }
    at += 8 + padded;
  }

  if (backing_offset != 0) {
    if (backing_size == 0 || backing_size > qcow2::max_backing_name ||
        backing_offset > header_end || backing_size > header_end - backing_offset)
      return bad("the backing file name lies outside the header cluster");
    info.backing_file = std::string(head.substr(backing_offset, backing_size));
    if (info.backing_file.find('\0') != std::string::npos)
      return bad("the backing file name contains a NUL byte");
  }

  // Dangers that make the image unsafe in any role.
  if (info.corrupt())
    info.problems.push_back("the corrupt bit is set: QEMU refuses to write it "
                            "(repair with qemu-img check -r all, or fetch it again)");
  if (info.external_data() || !info.data_file.empty())
    info.problems.push_back("its data lives in an external data file" +
                            (info.data_file.empty() ? std::string() : " (" + info.data_file + ")"));
  if ((info.incompatible_features & ~known_incompatible) != 0)
    info.problems.push_back("unknown incompatible features: " +
                            feature_names(info.incompatible_features & ~known_incompatible));
  if (info.crypt_method != 0)
    info.problems.push_back("it is encrypted (crypt_method " + std::to_string(info.crypt_method) +
                            ")");
  if (info.has_backing() && !info.backing_format)
    info.problems.push_back(
        info.backing_format_text.empty()
            ? "its backing format is not recorded, so QEMU would probe the backing file"
            : "its backing format '" + info.backing_format_text + "' is not qcow2 or raw");
  if (info.dirty())
    info.notes.push_back("the dirty bit is set (lazy refcounts were not flushed)");
  if (info.snapshots > 0)
    info.notes.push_back(std::to_string(info.snapshots) + " internal snapshot(s)");
  if ((info.incompatible_features & (qcow2::compression_type_bit | qcow2::extended_l2_bit)) != 0)
    info.notes.push_back("features: " +
                         feature_names(info.incompatible_features &
                                       (qcow2::compression_type_bit | qcow2::extended_l2_bit)));
  return info;
}

Result<ImageInfo> inspect_image(const std::filesystem::path& path, DiskFormat declared) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return system_error(ErrorCode::io, "opening " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(ErrorCode::disk, path.string() + " is not a regular file");
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(file_size, max_header_read)),
                   '\0');
  std::size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::pread(fd, head.data() + got, head.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  head.resize(got);

  if (declared == DiskFormat::raw) {
    ImageInfo info;
    info.path = path;
    info.format = DiskFormat::raw;
    info.file_size = file_size;
    info.virtual_size = file_size;
    if (head.size() >= 4 && head.compare(0, 4, "QFI\xfb") == 0)
      info.notes.push_back("declared raw but starts with the qcow2 magic: the guest would see "
                           "qcow2 metadata as disk contents");
    return info;
  }
  auto info = parse_qcow2_header(head, file_size);
  if (!info)
    return std::move(info).error().add_context("inspecting " + path.string());
  info->path = path;
  return info;
}

Result<std::vector<ImageInfo>> inspect_chain(const std::filesystem::path& path,
                                             DiskFormat declared) {
  std::vector<ImageInfo> chain;
  std::set<std::filesystem::path> visited;
  std::filesystem::path current = path;
  DiskFormat format = declared;
  for (int depth = 0; depth <= max_chain_depth; ++depth) {
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(current, ec);
    if (!visited.insert(ec ? current : canonical).second)
      return Error(ErrorCode::disk,
                   "the backing chain of " + path.string() + " loops back to " + current.string());
    auto info = inspect_image(current, format);
    if (!info)
      return std::move(info).error().add_context("following the backing chain of " + path.string());
    chain.push_back(*info);
    if (!info->has_backing())
      return chain;
    if (!info->backing_format)
      return Error(ErrorCode::disk,
                   current.string() + " names backing file " + info->backing_file +
                       " without a usable backing format",
                   "recreate the overlay with an explicit backing format");
    const std::filesystem::path next(info->backing_file);
    current = next.is_absolute() ? next : current.parent_path() / next;
    format = *info->backing_format;
  }
  return Error(ErrorCode::disk, "the backing chain of " + path.string() + " is deeper than " +
                                    std::to_string(max_chain_depth) + " images");
}

} // namespace kvmrun::images
