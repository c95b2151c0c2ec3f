#include "seeds/iso9660.hpp"

#include <gtest/gtest.h>

namespace kvmrun::seeds {
namespace {

std::vector<IsoFile> nocloud_files() {
  return {{"user-data", "#cloud-config\nhostname: a\n"},
          {"meta-data", "instance-id: i-1\n"},
          {"network-config", "version: 2\n"}};
}

std::string iso(const std::vector<IsoFile>& files, IsoOptions options = {}) {
  auto r = build_iso9660(files, options);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? std::move(r).value() : std::string();
}

std::string_view sector(const std::string& image, std::size_t n) {
  return std::string_view(image).substr(n * iso_sector_size, iso_sector_size);
}

std::uint32_t le32(std::string_view b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}

std::uint32_t be32(std::string_view b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

TEST(Iso9660, HasPrimaryJolietAndTerminatorDescriptorsFromSectorSixteen) {
  const std::string image = iso(nocloud_files());
  EXPECT_EQ(sector(image, 0), std::string(iso_sector_size, '\0')); // system area
  EXPECT_EQ(sector(image, 16).substr(0, 7), std::string_view("\x01"
                                                             "CD001"
                                                             "\x01",
                                                             7));
  EXPECT_EQ(sector(image, 17).substr(0, 7), std::string_view("\x02"
                                                             "CD001"
                                                             "\x01",
                                                             7));
  EXPECT_EQ(sector(image, 17).substr(88, 3), "%/E"); // Joliet UCS-2 level 3
  EXPECT_EQ(sector(image, 18).substr(0, 7), std::string_view("\xff"
                                                             "CD001"
                                                             "\x01",
                                                             7));
}

TEST(Iso9660, RecordsTheVolumeIdInBothDescriptors) {
  const std::string image = iso(nocloud_files());
  EXPECT_EQ(sector(image, 16).substr(40, 32), "cidata" + std::string(26, ' '));
  std::string ucs2;
  for (char c : std::string("cidata"))
    ucs2 += std::string(1, '\0') + c;
  EXPECT_EQ(sector(image, 17).substr(40, 12), ucs2);
  EXPECT_EQ(sector(image, 17).substr(52, 2), std::string_view("\0 ", 2)); // UCS-2 space padding
}

TEST(Iso9660, VolumeSpaceSizeIsTheImageSizeInBothByteOrders) {
  const std::string image = iso(nocloud_files());
  ASSERT_EQ(image.size() % iso_sector_size, 0U);
  const auto pvd = sector(image, 16);
  EXPECT_EQ(le32(pvd, 80), image.size() / iso_sector_size);
  EXPECT_EQ(be32(pvd, 84), image.size() / iso_sector_size);
}

TEST(Iso9660, StoresEachFileFromASectorBoundaryInNameOrder) {
  const std::string image = iso(nocloud_files());
  // Joliet sorts by UCS-2 name: meta-data, network-config, user-data; after 2 directory sectors.
  EXPECT_EQ(sector(image, 25).substr(0, 17), "instance-id: i-1\n");
  EXPECT_EQ(sector(image, 26).substr(0, 11), "version: 2\n");
  EXPECT_EQ(sector(image, 27).substr(0, 14), "#cloud-config\n");
  EXPECT_EQ(image.size(), 28 * iso_sector_size);
}

TEST(Iso9660, PrimaryTreeUsesUniqueEightDotThreeNames) {
  const std::string image = iso({{"user-data", "a"}, {"user-data-2", "b"}, {"x.tar.gz", "c"}});
  const auto root = sector(image, 23);
  EXPECT_NE(root.find("USER_DAT.;1"), std::string_view::npos);
  EXPECT_NE(root.find("USER_DA1.;1"), std::string_view::npos);
  EXPECT_NE(root.find("X_TAR.GZ;1"), std::string_view::npos);
}

TEST(Iso9660, IsByteForByteReproducible) {
  EXPECT_EQ(iso(nocloud_files()), iso(nocloud_files()));
  auto reordered = nocloud_files();
  std::swap(reordered[0], reordered[2]);
  EXPECT_EQ(iso(nocloud_files()), iso(reordered));
}

TEST(Iso9660, TheTimestampIsAnInputAndNotTheClock) {
  const std::string a = iso(nocloud_files(), IsoOptions{"cidata", 0});
  const std::string b = iso(nocloud_files(), IsoOptions{"cidata", 1700000000});
  EXPECT_NE(a, b);
  EXPECT_EQ(sector(b, 16).substr(813, 16), "2023111422132000");
}

TEST(Iso9660, EmptyFilesAndAnEmptyVolumeAreValid) {
  const std::string empty_file = iso({{"meta-data", ""}});
  EXPECT_EQ(empty_file.size(), 25 * iso_sector_size);
  EXPECT_EQ(iso({}).size(), 25 * iso_sector_size);
}

TEST(Iso9660, RejectsNamesJolietCannotCarry) {
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", "a;1", "a:b", "x*", "q?", "back\\slash",
                                std::string("nul\0x", 5), std::string(65, 'n'), "\xff\xfe",
                                "\xf0\x9f\x98\x80" /* outside the BMP */, "\xc0\xaf"}) {
    const auto r = build_iso9660(std::vector<IsoFile>{{bad, "x"}}, {});
    ASSERT_FALSE(r.ok()) << "accepted '" << bad << "'";
    EXPECT_EQ(r.error().code(), ErrorCode::disk);
  }
  EXPECT_TRUE(build_iso9660(std::vector<IsoFile>{{std::string(64, 'n'), "x"}}, {}).ok());
  EXPECT_TRUE(build_iso9660(std::vector<IsoFile>{{"caf\xc3\xa9", "x"}}, {}).ok());
}

TEST(Iso9660, RejectsDuplicateNames) {
  const auto r = build_iso9660(std::vector<IsoFile>{{"user-data", "a"}, {"user-data", "b"}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("same name"), std::string::npos);
}

TEST(Iso9660, RejectsABadVolumeId) {
  for (const char* bad : {"", "a-volume-id-of-17c", "ci/data"})
    EXPECT_FALSE(build_iso9660(nocloud_files(), IsoOptions{bad, 0}).ok()) << bad;
}

TEST(Iso9660, DirectoryRecordsNeverCrossASectorBoundary) {
  std::vector<IsoFile> files;
  for (int i = 0; i < 100; ++i)
    files.push_back({"file-with-a-long-name-number-" + std::to_string(i), std::to_string(i)});
  const std::string image = iso(files);
  // Walk the Joliet root directory sector by sector: each record lies inside its sector.
  const std::uint32_t jroot = le32(sector(image, 17), 156 + 2);
  const std::uint32_t jsize = le32(sector(image, 17), 156 + 10);
  ASSERT_GT(jsize, iso_sector_size);
  std::size_t records = 0;
  for (std::size_t s = 0; s < jsize / iso_sector_size; ++s) {
    const auto sec = sector(image, jroot + s);
    for (std::size_t at = 0; at < iso_sector_size && sec[at] != '\0';) {
      const auto len = static_cast<unsigned char>(sec[at]);
      ASSERT_LE(at + len, iso_sector_size);
      at += len;
      ++records;
    }
  }
  EXPECT_EQ(records, files.size() + 2);
}

} // namespace
} // namespace kvmrun::seeds
