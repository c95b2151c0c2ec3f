// ISO 9660 (ECMA-119, 4th edition) with the Joliet extension (Microsoft's "Joliet Specification",
// 1995: a Supplementary Volume Descriptor whose identifiers are UCS-2 big-endian).
//
// Layout (2048-byte logical sectors), for a root directory holding only files:
//
//   sector 0-15   system area, zero
//   16            Primary Volume Descriptor        (ECMA-119 8.4)
//   17            Joliet Supplementary Descriptor  (ECMA-119 8.5, escape sequence "%/E": UCS-2 L3)
//   18            Volume Descriptor Set Terminator (ECMA-119 8.3)
//   19            primary path table, type L (little-endian)   (ECMA-119 9.4)
//   20            primary path table, type M (big-endian)
//   21            Joliet path table, type L
//   22            Joliet path table, type M
//   23 ..        primary root directory: ".", "..", files as 8.3 d-character names ";1"
//   ..            Joliet root directory: ".", "..", files under their own names
//   ..            file contents, each from a sector boundary, in name order
//
// Both directory trees point at the same file extents. Directory records never cross a sector
// boundary (ECMA-119 6.8.1.1); a record that would is moved to the next sector.
#include "seeds/iso9660.hpp"

#include "base/utf8.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>

namespace kvmrun::seeds {

namespace {

constexpr std::uint32_t first_volume_descriptor = 16;
constexpr std::size_t directory_record_base = 33; // bytes before the file identifier
constexpr std::uint8_t directory_flag = 0x02;
constexpr std::uint64_t max_image_bytes = 0xFFFFFFFFULL; // 32-bit extent sizes

// --- byte helpers (ECMA-119 7.2 and 7.3: 7.2.3 / 7.3.3 are "both-byte orders") ----------------

void put_u8(std::string& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<char>(v & 0xFFU);
}
void put_le16(std::string& b, std::size_t at, std::uint32_t v) {
  put_u8(b, at, v);
  put_u8(b, at + 1, v >> 8U);
}
void put_be16(std::string& b, std::size_t at, std::uint32_t v) {
  put_u8(b, at, v >> 8U);
  put_u8(b, at + 1, v);
}
void put_le32(std::string& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i)
    put_u8(b, at + i, v >> (8U * i));
}
void put_be32(std::string& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i)
    put_u8(b, at + i, v >> (8U * (3 - i)));
}
void put_both16(std::string& b, std::size_t at, std::uint32_t v) { // 7.2.3
  put_le16(b, at, v);
  put_be16(b, at + 2, v);
}
void put_both32(std::string& b, std::size_t at, std::uint32_t v) { // 7.3.3
  put_le32(b, at, v);
  put_be32(b, at + 4, v);
}
void put_bytes(std::string& b, std::size_t at, std::string_view bytes) {
  std::copy(bytes.begin(), bytes.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
}
// A fixed-width text field padded with `pad` units (one byte, or UCS-2 space for Joliet).
void put_field(std::string& b, std::size_t at, std::size_t width, std::string_view text,
               std::string_view pad) {
  for (std::size_t i = 0; i < width; i += pad.size())
    put_bytes(b, at + i, pad.substr(0, std::min(pad.size(), width - i)));
  put_bytes(b, at, text.substr(0, width));
}

std::size_t sectors_for(std::uint64_t bytes) {
  return static_cast<std::size_t>((bytes + iso_sector_size - 1) / iso_sector_size);
}

// --- names ---------------------------------------------------------------------------------

// UTF-8 to UCS-2 big-endian; nullopt for invalid UTF-8 or characters outside the BMP.
std::optional<std::string> to_ucs2be(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = decode_utf8(utf8, i, cp);
    if (len == 0 || cp > 0xFFFF)
      return std::nullopt;
    out.push_back(static_cast<char>(cp >> 8U));
    out.push_back(static_cast<char>(cp & 0xFFU));
    i += len;
  }
  return out;
}

// Joliet forbids these in identifiers (Joliet spec, "Allowed characters"), as well as controls.
bool joliet_forbidden(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == '*' || c == '/' || c == ':' || c == ';' ||
         c == '?' || c == '\\';
}

// An 8.3 name of d-characters (ECMA-119 7.4.1) for the primary tree, unique among `taken`.
std::string primary_name(std::string_view name, std::set<std::string>& taken) {
  const auto d_char = [](char c) {
    if (c >= 'a' && c <= 'z')
      return static_cast<char>(c - 'a' + 'A');
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      return c;
    return '_';
  };
  const auto dot = name.rfind('.');
  std::string stem, ext;
  for (char c : name.substr(0, dot == std::string_view::npos ? name.size() : dot))
    stem.push_back(d_char(c));
  if (dot != std::string_view::npos)
    for (char c : name.substr(dot + 1))
      ext.push_back(d_char(c));
  stem = stem.substr(0, 8);
  ext = ext.substr(0, 3);
  std::string candidate = stem + "." + ext + ";1";
  for (int n = 1; !taken.insert(candidate).second; ++n) {
    const std::string suffix = std::to_string(n);
    candidate = stem.substr(0, 8 - suffix.size()) + suffix + "." + ext + ";1";
  }
  return candidate;
}

struct Entry {
  std::string identifier; // bytes as recorded
  std::uint32_t extent = 0;
  std::uint32_t size = 0;
};

std::size_t record_length(std::size_t identifier_length) {
  // ECMA-119 9.1.12: a padding byte follows an even-length identifier.
  return directory_record_base + identifier_length + (identifier_length % 2 == 0 ? 1 : 0);
}

// Sectors a directory with "." and ".." and these entries needs.
std::size_t directory_sectors(const std::vector<Entry>& entries) {
  std::size_t sectors = 1;
  std::size_t used = 2 * record_length(1);
  for (const auto& e : entries) {
    const std::size_t len = record_length(e.identifier.size());
    if (used + len > iso_sector_size) {
      ++sectors;
      used = 0;
    }
    used += len;
  }
  return sectors;
}

// ECMA-119 9.1.5: seven bytes, years since 1900 ... GMT offset in 15-minute units (0: UTC).
std::string record_date(const std::tm& t) {
  std::string d(7, '\0');
  put_u8(d, 0, static_cast<std::uint32_t>(t.tm_year));
  put_u8(d, 1, static_cast<std::uint32_t>(t.tm_mon + 1));
  put_u8(d, 2, static_cast<std::uint32_t>(t.tm_mday));
  put_u8(d, 3, static_cast<std::uint32_t>(t.tm_hour));
  put_u8(d, 4, static_cast<std::uint32_t>(t.tm_min));
  put_u8(d, 5, static_cast<std::uint32_t>(t.tm_sec));
  return d;
}

// ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" in digits, then the GMT offset byte.
std::string volume_date(const std::tm& t) {
  char digits[64];
  std::snprintf(digits, sizeof digits, "%04d%02d%02d%02d%02d%02d00", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
  return std::string(digits, 16) + std::string(1, '\0');
}

// ECMA-119 9.1: one directory record.
std::string directory_record(std::string_view identifier, std::uint32_t extent, std::uint32_t size,
                             bool is_directory, const std::string& date) {
  std::string r(record_length(identifier.size()), '\0');
  put_u8(r, 0, static_cast<std::uint32_t>(r.size()));           // 9.1.1 length of directory record
  put_u8(r, 1, 0);                                              // 9.1.2 extended attribute length
  put_both32(r, 2, extent);                                     // 9.1.3 location of extent
  put_both32(r, 10, size);                                      // 9.1.4 data length
  put_bytes(r, 18, date);                                       // 9.1.5 recording date and time
  put_u8(r, 25, is_directory ? directory_flag : 0);             // 9.1.6 file flags
  put_both16(r, 28, 1);                                         // 9.1.9 volume sequence number
  put_u8(r, 32, static_cast<std::uint32_t>(identifier.size())); // 9.1.10
  put_bytes(r, 33, identifier);                                 // 9.1.11
  return r;
}

// Writes a root directory extent at sector `at`.
void write_root_directory(std::string& image, std::uint32_t at, std::size_t sectors,
                          const std::vector<Entry>& entries, const std::string& date) {
  const auto size = static_cast<std::uint32_t>(sectors * iso_sector_size);
  std::size_t offset = at * iso_sector_size;
  [[maybe_unused]] const std::size_t end = offset + sectors * iso_sector_size;
  const auto emit = [&](const std::string& record) {
    const std::size_t in_sector = offset % iso_sector_size;
    if (in_sector + record.size() > iso_sector_size)
      offset += iso_sector_size - in_sector;
    assert(offset + record.size() <= end);
    put_bytes(image, offset, record);
    offset += record.size();
  };
  emit(directory_record(std::string(1, '\0'), at, size, true, date)); // "." (9.1.11)
  emit(directory_record(std::string(1, '\1'), at, size, true, date)); // ".." of the root: itself
  for (const auto& e : entries)
    emit(directory_record(e.identifier, e.extent, e.size, false, date));
}

// ECMA-119 9.4: the path table of a tree that has only its root directory.
void write_path_tables(std::string& image, std::uint32_t l_sector, std::uint32_t m_sector,
                       std::uint32_t root) {
  for (const bool little : {true, false}) {
    const std::size_t at = (little ? l_sector : m_sector) * iso_sector_size;
    put_u8(image, at, 1); // 9.4.1 length of directory identifier
    put_u8(image, at + 1, 0);
    if (little) {
      put_le32(image, at + 2, root); // 9.4.3 location of extent
      put_le16(image, at + 6, 1);    // 9.4.4 parent directory number (the root is its own)
    } else {
      put_be32(image, at + 2, root);
      put_be16(image, at + 6, 1);
    }
    put_u8(image, at + 8, 0); // the root's identifier, then one padding byte
  }
}

constexpr std::size_t path_table_size = 10;

struct Volume {
  std::uint8_t type;          // 1 primary, 2 supplementary (Joliet)
  std::string volume_id;      // already encoded
  std::string_view pad;       // " " or UCS-2 space
  std::string system_id;      // encoded
  std::string application_id; // encoded
  std::uint32_t path_l, path_m, root;
  std::size_t root_sectors;
};

// ECMA-119 8.4 (primary) and 8.5 (supplementary) volume descriptors share a layout.
void write_volume_descriptor(std::string& image, std::uint32_t sector, const Volume& v,
                             std::uint32_t total_sectors, const std::string& rec_date,
                             const std::string& vol_date) {
  const std::size_t at = sector * iso_sector_size;
  std::string d(iso_sector_size, '\0');
  put_u8(d, 0, v.type);                     // 8.4.1 volume descriptor type
  put_bytes(d, 1, "CD001");                 // 8.4.2 standard identifier
  put_u8(d, 6, 1);                          // 8.4.3 version
  put_field(d, 8, 32, v.system_id, v.pad);  // 8.4.5 system identifier
  put_field(d, 40, 32, v.volume_id, v.pad); // 8.4.6 volume identifier
  put_both32(d, 80, total_sectors);         // 8.4.8 volume space size
  if (v.type == 2)
    put_bytes(d, 88, "%/E");           // 8.5.6 escape sequences: Joliet UCS-2 level 3
  put_both16(d, 120, 1);               // 8.4.10 volume set size
  put_both16(d, 124, 1);               // 8.4.11 volume sequence number
  put_both16(d, 128, iso_sector_size); // 8.4.12 logical block size
  put_both32(d, 132, path_table_size); // 8.4.13 path table size
  put_le32(d, 140, v.path_l);          // 8.4.14 type L path table
  put_be32(d, 148, v.path_m);          // 8.4.16 type M path table
  put_bytes(d, 156,
            directory_record(std::string(1, '\0'), v.root,
                             static_cast<std::uint32_t>(v.root_sectors * iso_sector_size), true,
                             rec_date));           // 8.4.18 root directory record (34 bytes)
  put_field(d, 190, 128, "", v.pad);               // 8.4.19 volume set identifier
  put_field(d, 318, 128, "", v.pad);               // 8.4.20 publisher
  put_field(d, 446, 128, "", v.pad);               // 8.4.21 data preparer
  put_field(d, 574, 128, v.application_id, v.pad); // 8.4.22 application
  put_field(d, 702, 37, "", v.pad);                // 8.4.23 copyright file
  put_field(d, 739, 37, "", v.pad);                // 8.4.24 abstract file
  put_field(d, 776, 37, "", v.pad);                // 8.4.25 bibliographic file
  put_bytes(d, 813, vol_date);                     // 8.4.26 creation
  put_bytes(d, 830, vol_date);                     // 8.4.27 modification
  put_bytes(d, 847, std::string(16, '0') + std::string(1, '\0')); // 8.4.28 expiration: none
  put_bytes(d, 864, vol_date);                                    // 8.4.29 effective
  put_u8(d, 881, 1);                                              // 8.4.31 structure version
  put_bytes(image, at, d);
}

Error name_error(std::string_view name, const std::string& why) {
  return Error(ErrorCode::disk, "cannot put '" + std::string(name) + "' on the ISO image: " + why);
}

} // namespace

Result<std::string> build_iso9660(std::span<const IsoFile> files, const IsoOptions& options) {
  std::vector<IsoFileRef> refs;
  refs.reserve(files.size());
  for (const auto& f : files)
    refs.push_back(IsoFileRef{f.name, f.content});
  return build_iso9660(refs, options);
}

Result<std::string> build_iso9660(std::span<const IsoFileRef> files, const IsoOptions& options) {
  if (options.volume_id.empty() || options.volume_id.size() > 16 ||
      std::any_of(options.volume_id.begin(), options.volume_id.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x80 || joliet_forbidden(c);
      }))
    return Error(ErrorCode::disk, "bad ISO volume id '" + options.volume_id +
                                      "': it needs 1 to 16 printable ASCII characters");

  // Names for both trees, validated.
  std::vector<Entry> primary, joliet;
  std::set<std::string> primary_taken, joliet_taken;
  std::vector<std::size_t> order(files.size()); // files sorted by Joliet identifier
  std::vector<std::string> joliet_ids(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string_view name = files[i].name;
    if (name.empty() || name == "." || name == "..")
      return name_error(name, "it is not a file name");
    if (std::any_of(name.begin(), name.end(), joliet_forbidden))
      return name_error(name, "Joliet names cannot hold * / : ; ? \\ or control characters");
    auto ucs2 = to_ucs2be(name);
    if (!ucs2)
      return name_error(name, "it is not valid UTF-8 within the Basic Multilingual Plane");
    if (ucs2->size() > 2 * 64)
      return name_error(name, "Joliet names hold at most 64 characters");
    if (!joliet_taken.insert(std::string(name)).second)
      return name_error(name, "another file has the same name");
    joliet_ids[i] = *ucs2; // no ";1" version suffix, as genisoimage and xorriso write Joliet
    order[i] = i;
  }
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return joliet_ids[a] < joliet_ids[b]; });

  for (std::size_t i : order) {
    primary.push_back(Entry{primary_name(files[i].name, primary_taken), 0,
                            static_cast<std::uint32_t>(files[i].content.size())});
    joliet.push_back(Entry{joliet_ids[i], 0, static_cast<std::uint32_t>(files[i].content.size())});
  }

  // Sector map.
  constexpr std::uint32_t pvd = first_volume_descriptor, svd = pvd + 1, terminator = pvd + 2;
  constexpr std::uint32_t path_l = terminator + 1, path_m = path_l + 1;
  constexpr std::uint32_t jpath_l = path_m + 1, jpath_m = jpath_l + 1;
  const std::uint32_t root = jpath_m + 1;
  const std::size_t root_sectors = directory_sectors(primary);
  const auto jroot = static_cast<std::uint32_t>(root + root_sectors);
  const std::size_t jroot_sectors = directory_sectors(joliet);
  std::uint64_t next = jroot + jroot_sectors;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::uint64_t size = files[order[k]].content.size();
    if (size > max_image_bytes)
      return name_error(files[order[k]].name, "files on the image must be under 4 GiB");
    primary[k].extent = joliet[k].extent = static_cast<std::uint32_t>(next);
    next += sectors_for(size);
  }
  if (next * iso_sector_size > max_image_bytes)
    return Error(ErrorCode::disk, "the seed ISO would exceed 4 GiB");
  const auto total = static_cast<std::uint32_t>(next);

  std::tm tm_utc{};
  const std::time_t t = static_cast<std::time_t>(options.timestamp);
  ::gmtime_r(&t, &tm_utc);
  const std::string rec_date = record_date(tm_utc);
  const std::string vol_date = volume_date(tm_utc);

  std::string image(static_cast<std::size_t>(total) * iso_sector_size, '\0');
  const std::string ucs2_space("\0 ", 2);
  write_volume_descriptor(
      image, pvd,
      Volume{1, options.volume_id, " ", "LINUX", "KVMRUN", path_l, path_m, root, root_sectors},
      total, rec_date, vol_date);
  write_volume_descriptor(image, svd,
                          Volume{2, *to_ucs2be(options.volume_id), ucs2_space, *to_ucs2be("LINUX"),
                                 *to_ucs2be("KVMRUN"), jpath_l, jpath_m, jroot, jroot_sectors},
                          total, rec_date, vol_date);
  put_u8(image, terminator * iso_sector_size, 255); // 8.3: type 255, "CD001", version 1
  put_bytes(image, terminator * iso_sector_size + 1, "CD001");
  put_u8(image, terminator * iso_sector_size + 6, 1);
  write_path_tables(image, path_l, path_m, root);
  write_path_tables(image, jpath_l, jpath_m, jroot);
  write_root_directory(image, root, root_sectors, primary, rec_date);
  write_root_directory(image, jroot, jroot_sectors, joliet, rec_date);
  for (std::size_t k = 0; k < order.size(); ++k)
    put_bytes(image, primary[k].extent * iso_sector_size, files[order[k]].content);
  return image;
}

} // namespace kvmrun::seeds
