// Password hashing through libxcrypt: the SHA-512-crypt known answers, deterministic salts,
// yescrypt as an option, and hashes that libxcrypt itself verifies.
#include "seeds/password.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace kvmrun::seeds {
namespace {

std::string ok(Result<std::string> r) {
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : std::string();
}

// What a guest's login does: crypt(password, stored hash) must give the stored hash back.
bool verifies(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* again = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  return again != nullptr && hash == again;
}

TEST(Sha512Crypt, MatchesTheSpecificationsTestVector) {
  // Drepper, "Unix crypt using SHA-256 and SHA-512": the vector with the default rounds.
  EXPECT_EQ(ok(sha512_crypt("Hello world!", "saltstring")),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYE"
            "dFCoEOfaS35inz1");
}

TEST(Sha512Crypt, UsesOnlyTheFirstSixteenSaltCharacters) {
  EXPECT_EQ(ok(sha512_crypt("pw", "0123456789abcdefXYZ")),
            ok(sha512_crypt("pw", "0123456789abcdef")));
}

TEST(HashPassword, Sha512IsTheDefaultSchemeDeterministicPerSeedAndVerifies) {
  const std::string a = ok(hash_password("s3cret", PasswordScheme::sha512, "lab/web-1/ann"));
  EXPECT_EQ(a.rfind("$6$", 0), 0U) << a;
  EXPECT_EQ(a, ok(hash_password("s3cret", PasswordScheme::sha512, "lab/web-1/ann")));
  EXPECT_NE(a, ok(hash_password("s3cret", PasswordScheme::sha512, "lab/web-2/ann")));
  EXPECT_TRUE(verifies("s3cret", a));
  EXPECT_FALSE(verifies("s3cret!", a));
}

TEST(HashPassword, YescryptIsOfferedAndVerifies) {
  const std::string y = ok(hash_password("s3cret", PasswordScheme::yescrypt, "lab/web-1/ann"));
  EXPECT_EQ(y.rfind("$y$", 0), 0U) << y;
  EXPECT_EQ(y, ok(hash_password("s3cret", PasswordScheme::yescrypt, "lab/web-1/ann")));
  EXPECT_TRUE(verifies("s3cret", y));
  EXPECT_TRUE(looks_like_crypt_hash(y));
}

TEST(HashPassword, ANulInThePasswordIsRefusedNotTruncated) {
  const auto r = hash_password(std::string("ab\0cd", 5), PasswordScheme::sha512, "s");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("NUL"), std::string::npos);
}

TEST(PasswordScheme, ParsesExactlyTheTwoNames) {
  EXPECT_EQ(parse_password_scheme("sha512"), PasswordScheme::sha512);
  EXPECT_EQ(parse_password_scheme("yescrypt"), PasswordScheme::yescrypt);
  EXPECT_FALSE(parse_password_scheme("md5").has_value());
  EXPECT_FALSE(parse_password_scheme("SHA512").has_value());
}

TEST(LooksLikeCryptHash, AcceptsModernSchemesAndRejectsPlainText) {
  EXPECT_TRUE(looks_like_crypt_hash(ok(sha512_crypt("x", "abcdefgh"))));
  EXPECT_TRUE(looks_like_crypt_hash("$y$j9T$abcdefghijkl$mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNO"));
  EXPECT_FALSE(looks_like_crypt_hash("hunter2"));
  EXPECT_FALSE(looks_like_crypt_hash("$6$"));
  EXPECT_FALSE(looks_like_crypt_hash("$6$salt$with space in it"));
}

} // namespace
} // namespace kvmrun::seeds
