#include "images/qcow2.hpp"
#include "images/qcow2_layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace kvmrun::images {
namespace {

std::string image(const Qcow2Spec& spec) {
  auto r = build_qcow2(spec);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : std::string();
}

using qcow2::load;
using qcow2::load_be;
using qcow2::store;
using qcow2::store_be;

Qcow2Spec overlay_spec() {
  Qcow2Spec s;
  s.virtual_size = 20ULL << 30U;
  s.backing_file = "/var/lib/kvmrun/images/debian-12.qcow2";
  s.backing_format = DiskFormat::qcow2;
  return s;
}

ImageInfo parse(const std::string& bytes) {
  auto r = parse_qcow2_header(bytes, bytes.size());
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : ImageInfo{};
}

TEST(Qcow2Writer, WritesAVersion3HeaderWithTheRequestedGeometry) {
  const std::string b = image(overlay_spec());
  EXPECT_EQ(b.substr(0, 4), "QFI\xfb");
  EXPECT_EQ(load(b, qcow2::version), 3U);
  EXPECT_EQ(load(b, qcow2::cluster_bits), 16U);          // 64 KiB clusters
  EXPECT_EQ(load(b, qcow2::virtual_size), 20ULL << 30U); // virtual size
  EXPECT_EQ(load(b, qcow2::l1_size), 40U);               // L1 entries: 20 GiB / 512 MiB
  EXPECT_EQ(load(b, qcow2::refcount_order), 4U);         // 16-bit refcounts
  EXPECT_EQ(load(b, qcow2::header_length), 104U);        // header length
  EXPECT_EQ(b.size(), 4U * 65536); // header, refcount table, refcount block, L1
}

TEST(Qcow2Writer, RecordsTheBackingFileAndItsFormat) {
  const auto info = parse(image(overlay_spec()));
  EXPECT_EQ(info.backing_file, "/var/lib/kvmrun/images/debian-12.qcow2");
  ASSERT_TRUE(info.backing_format.has_value());
  EXPECT_EQ(*info.backing_format, DiskFormat::qcow2);
  EXPECT_TRUE(info.problems.empty());
  Qcow2Spec raw = overlay_spec();
  raw.backing_format = DiskFormat::raw;
  EXPECT_EQ(parse(image(raw)).backing_format_text, "raw");
}

TEST(Qcow2Writer, CountsEveryClusterOnceInTheRefcountBlock) {
  const std::string b = image(overlay_spec());
  const std::uint64_t cluster = 65536;
  EXPECT_EQ(load(b, qcow2::refcount_table_offset), cluster); // refcount table at cluster 1
  EXPECT_EQ(load_be(b, cluster, 8), 2 * cluster); // its first entry: the block at cluster 2
  for (std::uint64_t c = 0; c < 4; ++c)
    EXPECT_EQ(load_be(b, 2 * cluster + 2 * c, 2), 1U) << "cluster " << c;
  EXPECT_EQ(load_be(b, 2 * cluster + 8, 2), 0U);
  EXPECT_EQ(load(b, qcow2::l1_table_offset), 3 * cluster); // L1 table at cluster 3, all zero
  EXPECT_EQ(b.find_first_not_of('\0', 3 * cluster), std::string::npos);
}

TEST(Qcow2Writer, IsDeterministic) { EXPECT_EQ(image(overlay_spec()), image(overlay_spec())); }

TEST(Qcow2Writer, LargeDisksGetALargerL1Table) {
  Qcow2Spec s;
  s.virtual_size = 64ULL << 40U; // 64 TiB: 131072 L1 entries, 16 clusters
  const std::string b = image(s);
  EXPECT_EQ(load(b, qcow2::l1_size), 131072U);
  EXPECT_EQ(b.size(), (3U + 16U) * 65536);
  EXPECT_TRUE(parse(b).problems.empty());
}

TEST(Qcow2Writer, RefusesImpossibleSpecs) {
  Qcow2Spec s;
  s.virtual_size = 1000; // not a multiple of 512
  EXPECT_FALSE(build_qcow2(s).ok());
  s.virtual_size = 0;
  EXPECT_FALSE(build_qcow2(s).ok());
  s.virtual_size = 1 << 20;
  s.cluster_bits = 22;
  EXPECT_FALSE(build_qcow2(s).ok());
  s.cluster_bits = 16;
  s.backing_file = std::string(1024, 'x');
  const auto r = build_qcow2(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::disk);
}

TEST(Qcow2Reader, RefusesWhatIsNotAQcow2Header) {
  const std::string good = image(overlay_spec());
  EXPECT_FALSE(parse_qcow2_header(good.substr(0, 50), 50).ok());
  std::string b = good;
  b[0] = 'X';
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::version, 4); // version 4
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::cluster_bits, 40); // cluster_bits 40
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::l1_table_offset, 1ULL << 40U); // L1 table beyond the file
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::l1_size, 1); // L1 too small for the virtual size
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::backing_file_size, 60000); // backing name longer than allowed
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::header_length, 100); // header length not a multiple of 8
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store_be(b, 108, 0xFFFFFFF0, 4); // first extension's length runs past the cluster
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  store(b, qcow2::virtual_size, 1ULL << 60U); // absurd virtual size
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
}

TEST(Qcow2Reader, ListsDangerousFeaturesAsProblems) {
  const std::string good = image(overlay_spec());
  std::string b = good;
  store(b, qcow2::incompatible_features, 2); // corrupt
  EXPECT_NE(parse(b).problems.at(0).find("corrupt bit"), std::string::npos);
  b = good;
  store(b, qcow2::incompatible_features, 4); // external data file
  EXPECT_NE(parse(b).problems.at(0).find("external data file"), std::string::npos);
  b = good;
  store(b, qcow2::incompatible_features, 1ULL << 40U); // unknown incompatible feature
  EXPECT_NE(parse(b).problems.at(0).find("unknown incompatible features: unknown bit 40"),
            std::string::npos);
  b = good;
  store(b, qcow2::crypt_method, 2); // LUKS
  EXPECT_NE(parse(b).problems.at(0).find("encrypted"), std::string::npos);
  b = good;
  store(b, qcow2::incompatible_features, 1); // dirty: a note, not a problem
  const auto dirty = parse(b);
  EXPECT_TRUE(dirty.problems.empty());
  EXPECT_TRUE(dirty.dirty());
  EXPECT_FALSE(dirty.notes.empty());
}

TEST(Qcow2Reader, ABackingFileWithoutARecordedFormatIsAProblem) {
  std::string b = image(overlay_spec());
  store_be(b, 104, 0xDEADBEEF, 4); // turn the backing-format extension into an unknown one
  const auto info = parse(b);
  EXPECT_FALSE(info.backing_format.has_value());
  ASSERT_EQ(info.problems.size(), 1U);
  EXPECT_NE(info.problems[0].find("QEMU would probe"), std::string::npos);
}

TEST(Qcow2Reader, ABackingFileMakesAnImageUnsafeAsABase) {
  const auto overlay = parse(image(overlay_spec()));
  EXPECT_TRUE(overlay.problems.empty());
  ASSERT_EQ(overlay.unsafe_as_base().size(), 1U);
  Qcow2Spec blank;
  blank.virtual_size = 1 << 30;
  EXPECT_TRUE(parse(image(blank)).unsafe_as_base().empty());
}

// Random damage to the header cluster: the reader refuses it as a disk error, or what it
// accepts is exactly what the bytes say where qcow2.txt puts each field, within the spec's
// bounds, with every dangerous feature listed as a problem.
TEST(Qcow2Reader, RandomCorruptionIsRefusedOrReportedAsTheBytesSay) {
  const std::string good = image(overlay_spec()).substr(0, 65536);
  const std::uint64_t file_size = 4U * 65536;
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> where(0, 600);
  std::uniform_int_distribution<int> byte(0, 255);
  int refused = 0;
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string b = good;
    for (int k = 0; k < 1 + round % 8; ++k)
      b[where(rng)] = static_cast<char>(byte(rng));
    const std::size_t len = round % 5 == 0 ? where(rng) : b.size();
    const std::string_view head = std::string_view(b).substr(0, len);
    const auto r = parse_qcow2_header(head, file_size);
    if (!r.ok()) {
      ++refused;
      EXPECT_EQ(r.error().code(), ErrorCode::disk) << r.error().describe();
      EXPECT_EQ(r.error().message().rfind("not a valid qcow2 image: ", 0), 0U)
          << r.error().message();
      continue;
    }
    ++accepted;
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_GE(len, qcow2::v2_header_size);
    EXPECT_EQ(load(head, qcow2::magic_field), qcow2::magic);
    EXPECT_EQ(r->version, load(head, qcow2::version));
    EXPECT_TRUE(r->version == 2 || r->version == 3);
    EXPECT_EQ(r->cluster_bits, load(head, qcow2::cluster_bits));
    EXPECT_GE(r->cluster_bits, 9U);
    EXPECT_LE(r->cluster_bits, 21U);
    EXPECT_EQ(r->virtual_size, load(head, qcow2::virtual_size));
    EXPECT_EQ(r->crypt_method, load(head, qcow2::crypt_method));
    EXPECT_EQ(r->snapshots, load(head, qcow2::nb_snapshots));
    EXPECT_LE(r->backing_file.size(), qcow2::max_backing_name);
    EXPECT_EQ(r->backing_file.empty(), load(head, qcow2::backing_file_offset) == 0);
    if (r->version == 3) {
      ASSERT_GE(len, qcow2::v3_header_size);
      EXPECT_EQ(r->incompatible_features, load(head, qcow2::incompatible_features));
      EXPECT_EQ(r->refcount_bits, 1U << load(head, qcow2::refcount_order));
    }
    const auto problem = [&](std::string_view what) {
      return std::any_of(r->problems.begin(), r->problems.end(),
                         [&](const std::string& p) { return p.find(what) != std::string::npos; });
    };
    EXPECT_EQ(r->corrupt(), problem("corrupt bit"));
    EXPECT_EQ((r->incompatible_features & ~qcow2::known_incompatible) != 0,
              problem("unknown incompatible features"));
    EXPECT_EQ(r->crypt_method != 0, problem("encrypted"));
    EXPECT_EQ(r->external_data(), problem("its data lives in an external data file"));
    EXPECT_EQ(r->has_backing() && !r->backing_format, problem("backing format"));
  }
  // Both outcomes occur, so neither branch above is vacuous.
  EXPECT_GT(refused, 100);
  EXPECT_GT(accepted, 100);
}

} // namespace
} // namespace kvmrun::images
