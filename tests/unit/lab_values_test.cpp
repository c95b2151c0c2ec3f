#include "lab/lab_spec.hpp"
#include "lab/values.hpp"

#include <gtest/gtest.h>

namespace kvmrun::lab {
namespace {

using namespace std::chrono_literals;

TEST(ParseSize, AcceptsBinaryUnitsAndRejectsEverythingElse) {
  EXPECT_EQ(parse_size("512MiB"), 512ULL << 20U);
  EXPECT_EQ(parse_size("2GiB"), 2ULL << 30U);
  EXPECT_EQ(parse_size("2G"), 2ULL << 30U);
  EXPECT_EQ(parse_size("1T"), 1ULL << 40U);
  EXPECT_EQ(parse_size("4096B"), 4096U);
  for (const char* bad : {"", "2", "GiB", "1.5GiB", "-1GiB", "2 GiB", "2gib", "2GB",
                          "99999999999999999999GiB", "20000000000T"})
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
}

TEST(ParseDuration, AcceptsMillisecondsSecondsMinutesHours) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("90s"), 90s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  for (const char* bad : {"", "90", "s", "1.5s", "10 s", "1d"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Names, AreShortLowerCaseWordsThatCannotBePaths) {
  for (const char* good : {"a", "web-1", "node-3", "x0", "abcdefghijklmnopqrstuvwxyz012345"})
    EXPECT_TRUE(is_valid_name(good)) << good;
  for (const char* bad : {"", "1web", "-a", "a-", "Web", "a_b", "a.b", "../etc", "a/b", "a b",
                          "abcdefghijklmnopqrstuvwxyz0123456"})
    EXPECT_FALSE(is_valid_name(bad)) << bad;
}

TEST(UserNames, FollowDebianRules) {
  EXPECT_TRUE(is_valid_user_name("ann"));
  EXPECT_TRUE(is_valid_user_name("_svc-1"));
  EXPECT_FALSE(is_valid_user_name("Ann"));
  EXPECT_FALSE(is_valid_user_name("1ann"));
  EXPECT_FALSE(is_valid_user_name("ann:x"));
  EXPECT_FALSE(is_valid_user_name(""));
}

TEST(Hostnames, AreDotSeparatedLabels) {
  EXPECT_TRUE(is_valid_hostname("web-1"));
  EXPECT_TRUE(is_valid_hostname("web-1.lab.internal"));
  EXPECT_FALSE(is_valid_hostname("web_1"));
  EXPECT_FALSE(is_valid_hostname("-web"));
  EXPECT_FALSE(is_valid_hostname("a..b"));
  EXPECT_FALSE(is_valid_hostname("web 1"));
}

TEST(Mac, IsNormalisedToLowerCaseAndMustBeUnicast) {
  EXPECT_EQ(parse_mac("52:54:00:AB:cd:01"), "52:54:00:ab:cd:01");
  for (const char* bad : {"", "52:54:00:ab:cd", "52-54-00-ab-cd-01", "53:54:00:ab:cd:01",
                          "00:00:00:00:00:00", "52:54:00:ab:cd:0g"})
    EXPECT_FALSE(parse_mac(bad).has_value()) << bad;
}

TEST(DeterministicMac, IsStablePerLabAndInstanceWithQemusPrefix) {
  const std::string mac = deterministic_mac("lab", "web-1");
  EXPECT_EQ(mac.substr(0, 9), "52:54:00:");
  EXPECT_TRUE(parse_mac(mac).has_value());
  EXPECT_EQ(mac, deterministic_mac("lab", "web-1"));
  EXPECT_NE(mac, deterministic_mac("lab", "web-2"));
  EXPECT_NE(mac, deterministic_mac("other", "web-1"));
}

TEST(Ipv4, AddressesAndPrefixes) {
  EXPECT_TRUE(is_valid_ipv4("10.0.2.15"));
  EXPECT_FALSE(is_valid_ipv4("10.0.2"));
  EXPECT_FALSE(is_valid_ipv4("10.0.2.256"));
  EXPECT_FALSE(is_valid_ipv4("10.0.02.1"));
  EXPECT_TRUE(is_valid_ipv4_cidr("10.0.2.15/24"));
  EXPECT_FALSE(is_valid_ipv4_cidr("10.0.2.15"));
  EXPECT_FALSE(is_valid_ipv4_cidr("10.0.2.15/33"));
  EXPECT_FALSE(is_valid_ipv4_cidr("10.0.2.15/0"));
  EXPECT_TRUE(is_loopback_ipv4("127.0.0.1"));
  EXPECT_FALSE(is_loopback_ipv4("0.0.0.0"));
}

TEST(Checksums, NameTheirAlgorithmAndHaveTheRightLength) {
  const auto sha256 = parse_checksum("sha256:" + std::string(64, 'A'));
  ASSERT_TRUE(sha256.has_value());
  EXPECT_EQ(sha256->algorithm, DigestAlgorithm::sha256);
  EXPECT_EQ(sha256->hex, std::string(64, 'a'));
  EXPECT_TRUE(parse_checksum("sha512:" + std::string(128, '0')).has_value());
  EXPECT_FALSE(parse_checksum("sha512:" + std::string(64, '0')).has_value());
  EXPECT_FALSE(parse_checksum("md5:" + std::string(32, '0')).has_value());
  EXPECT_FALSE(parse_checksum(std::string(64, '0')).has_value());
  EXPECT_FALSE(parse_checksum("sha256:" + std::string(63, '0') + "z").has_value());
}

} // namespace
} // namespace kvmrun::lab

namespace kvmrun::lab {
namespace {

TEST(ForwardSpec, PortsAddressesAndProtocolsAsForwardAddTakesThem) {
  const auto plain = parse_forward_spec("8080:80", false);
  ASSERT_TRUE(plain);
  EXPECT_EQ(forward_text(*plain), "127.0.0.1:8080->80");
  EXPECT_EQ(forward_text(*parse_forward_spec("8080:80", true)), "0.0.0.0:8080->80");
  EXPECT_EQ(forward_text(*parse_forward_spec("10.1.2.3:53:53/udp", false)), "10.1.2.3:53->53/udp");
  EXPECT_EQ(forward_text(*parse_forward_spec("2222:22/tcp", false)), "127.0.0.1:2222->22");
  for (const char* bad : {"80", "0:80", "8080:0", "8080:65536", "x:80", "1.2.3:80:80",
                          "8080:80/sctp", "", ":80", "8080:"})
    EXPECT_FALSE(parse_forward_spec(bad, false)) << bad;
  const auto any = *parse_forward_spec("8080:81", true);
  EXPECT_TRUE(same_host_port(*plain, any)) << "0.0.0.0 takes every address's port";
  EXPECT_FALSE(same_host_port(*plain, *parse_forward_spec("8080:80/udp", false)));
  EXPECT_FALSE(same_host_port(*plain, *parse_forward_spec("127.0.0.2:8080:80", false)));
}

} // namespace
} // namespace kvmrun::lab
