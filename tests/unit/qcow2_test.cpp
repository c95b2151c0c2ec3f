#include "images/qcow2.hpp"

#include <gtest/gtest.h>

#include <random>

namespace kvmrun::images {
namespace {

std::string image(const Qcow2Spec& spec) {
  auto r = build_qcow2(spec);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : std::string();
}

std::uint64_t be(const std::string& b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

void put(std::string& b, std::size_t at, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    b[at + i] = static_cast<char>((v >> (8 * (n - 1 - i))) & 0xFF);
}

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
  EXPECT_EQ(be(b, 4, 4), 3U);
  EXPECT_EQ(be(b, 20, 4), 16U);          // 64 KiB clusters
  EXPECT_EQ(be(b, 24, 8), 20ULL << 30U); // virtual size
  EXPECT_EQ(be(b, 36, 4), 40U);          // L1 entries: 20 GiB / 512 MiB
  EXPECT_EQ(be(b, 96, 4), 4U);           // 16-bit refcounts
  EXPECT_EQ(be(b, 100, 4), 104U);        // header length
  EXPECT_EQ(b.size(), 4U * 65536);       // header, refcount table, refcount block, L1
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
  EXPECT_EQ(be(b, 48, 8), cluster);          // refcount table at cluster 1
  EXPECT_EQ(be(b, cluster, 8), 2 * cluster); // its first entry: the block at cluster 2
  for (std::uint64_t c = 0; c < 4; ++c)
    EXPECT_EQ(be(b, 2 * cluster + 2 * c, 2), 1U) << "cluster " << c;
  EXPECT_EQ(be(b, 2 * cluster + 8, 2), 0U);
  EXPECT_EQ(be(b, 40, 8), 3 * cluster); // L1 table at cluster 3, all zero
  EXPECT_EQ(b.find_first_not_of('\0', 3 * cluster), std::string::npos);
}

TEST(Qcow2Writer, IsDeterministic) { EXPECT_EQ(image(overlay_spec()), image(overlay_spec())); }

TEST(Qcow2Writer, LargeDisksGetALargerL1Table) {
  Qcow2Spec s;
  s.virtual_size = 64ULL << 40U; // 64 TiB: 131072 L1 entries, 16 clusters
  const std::string b = image(s);
  EXPECT_EQ(be(b, 36, 4), 131072U);
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
  put(b, 4, 4, 4); // version 4
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 20, 40, 4); // cluster_bits 40
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 40, 1ULL << 40U, 8); // L1 table beyond the file
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 36, 1, 4); // L1 too small for the virtual size
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 16, 60000, 4); // backing name longer than allowed
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 100, 100, 4); // header length not a multiple of 8
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 108, 0xFFFFFFF0, 4); // first extension's length runs past the cluster
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
  b = good;
  put(b, 24, 1ULL << 60U, 8); // absurd virtual size
  EXPECT_FALSE(parse_qcow2_header(b, b.size()).ok());
}

TEST(Qcow2Reader, ListsDangerousFeaturesAsProblems) {
  const std::string good = image(overlay_spec());
  std::string b = good;
  put(b, 72, 2, 8); // corrupt
  EXPECT_NE(parse(b).problems.at(0).find("corrupt bit"), std::string::npos);
  b = good;
  put(b, 72, 4, 8); // external data file
  EXPECT_NE(parse(b).problems.at(0).find("external data file"), std::string::npos);
  b = good;
  put(b, 72, 1ULL << 40U, 8); // unknown incompatible feature
  EXPECT_NE(parse(b).problems.at(0).find("unknown incompatible features: unknown bit 40"),
            std::string::npos);
  b = good;
  put(b, 32, 2, 4); // LUKS
  EXPECT_NE(parse(b).problems.at(0).find("encrypted"), std::string::npos);
  b = good;
  put(b, 72, 1, 8); // dirty: a note, not a problem
  const auto dirty = parse(b);
  EXPECT_TRUE(dirty.problems.empty());
  EXPECT_TRUE(dirty.dirty());
  EXPECT_FALSE(dirty.notes.empty());
}

TEST(Qcow2Reader, ABackingFileWithoutARecordedFormatIsAProblem) {
  std::string b = image(overlay_spec());
  put(b, 104, 0xDEADBEEF, 4); // turn the backing-format extension into an unknown one
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

TEST(Qcow2Reader, SurvivesRandomCorruptionOfTheHeaderCluster) {
  const std::string good = image(overlay_spec()).substr(0, 65536);
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> where(0, 600);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 3000; ++round) {
    std::string b = good;
    for (int k = 0; k < 1 + round % 8; ++k)
      b[where(rng)] = static_cast<char>(byte(rng));
    const std::size_t len = round % 5 == 0 ? where(rng) : b.size();
    const auto r = parse_qcow2_header(std::string_view(b).substr(0, len), 4U * 65536);
    if (r.ok()) {
      EXPECT_LE(r->backing_file.size(), 1023U);
    }
  }
}

} // namespace
} // namespace kvmrun::images
