#include "seeds/password.hpp"

#include <gtest/gtest.h>

namespace kvmrun::seeds {
namespace {

TEST(Sha512Crypt, MatchesTheSpecificationsTestVector) {
  EXPECT_EQ(sha512_crypt("Hello world!", "saltstring"),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYE"
            "dFCoEOfaS35inz1");
}

TEST(Sha512Crypt, UsesOnlyTheFirstSixteenSaltCharacters) {
  EXPECT_EQ(sha512_crypt("pw", "0123456789abcdefXYZ"), sha512_crypt("pw", "0123456789abcdef"));
}

TEST(DerivedSalt, IsSixteenCryptCharactersStablePerSeedAndDistinctAcrossSeeds) {
  const std::string a = derived_salt("lab/web-1/ann");
  EXPECT_EQ(a.size(), 16U);
  EXPECT_EQ(a.find_first_not_of("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            std::string::npos);
  EXPECT_EQ(a, derived_salt("lab/web-1/ann"));
  EXPECT_NE(a, derived_salt("lab/web-2/ann"));
}

TEST(LooksLikeCryptHash, AcceptsModernSchemesAndRejectsPlainText) {
  EXPECT_TRUE(looks_like_crypt_hash(sha512_crypt("x", "abcdefgh")));
  EXPECT_TRUE(looks_like_crypt_hash("$y$j9T$abcdefghijkl$mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNO"));
  EXPECT_FALSE(looks_like_crypt_hash("hunter2"));
  EXPECT_FALSE(looks_like_crypt_hash("$6$"));
  EXPECT_FALSE(looks_like_crypt_hash("$6$salt$with space in it"));
}

} // namespace
} // namespace kvmrun::seeds
