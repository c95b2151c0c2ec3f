#include "seeds/password.hpp"

#include "base/digest.hpp"

#include <algorithm>
#include <array>

namespace kvmrun::seeds {

namespace {

constexpr std::string_view crypt_alphabet =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int default_rounds = 5000;

// The byte order of the final encoding, from the specification's sha512-crypt reference code:
// each triple becomes four characters, the last byte two.
constexpr std::array<std::array<int, 3>, 21> final_order{
    {{0, 21, 42},  {22, 43, 1},  {44, 2, 23},  {3, 24, 45},  {25, 46, 4},  {47, 5, 26},
     {6, 27, 48},  {28, 49, 7},  {50, 8, 29},  {9, 30, 51},  {31, 52, 10}, {53, 11, 32},
     {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38},
     {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}};

void encode(std::string& out, unsigned b2, unsigned b1, unsigned b0, int chars) {
  unsigned w = (b2 << 16U) | (b1 << 8U) | b0;
  for (int i = 0; i < chars; ++i) {
    out.push_back(crypt_alphabet[w & 0x3FU]);
    w >>= 6U;
  }
}

// `bytes` repeated to `length` bytes.
std::string repeat_to(std::string_view bytes, std::size_t length) {
  std::string out;
  while (out.size() < length)
    out.append(bytes.substr(0, std::min(bytes.size(), length - out.size())));
  return out;
}

} // namespace

std::string sha512_crypt(std::string_view password, std::string_view salt) {
  salt = salt.substr(0, 16);
  const auto sha = DigestAlgorithm::sha512;
  // Steps 4-8: B = H(P S P).
  Digest alt(sha);
  alt.update(password);
  alt.update(salt);
  alt.update(password);
  const std::string b = alt.finish();
  // Steps 1-3, 9-12: A = H(P S B-repeated, then B or P per bit of len(P)).
  Digest ctx(sha);
  ctx.update(password);
  ctx.update(salt);
  ctx.update(repeat_to(b, password.size()));
  for (std::size_t n = password.size(); n > 0; n >>= 1U)
    ctx.update((n & 1U) != 0 ? std::string_view(b) : password);
  std::string a = ctx.finish();
  // Steps 13-16: P sequence from H(P repeated len(P) times).
  Digest dp(sha);
  for (std::size_t i = 0; i < password.size(); ++i)
    dp.update(password);
  const std::string p_seq = repeat_to(dp.finish(), password.size());
  // Steps 17-20: S sequence from H(S repeated 16 + A[0] times).
  Digest ds(sha);
  for (unsigned i = 0; i < 16U + static_cast<unsigned char>(a[0]); ++i)
    ds.update(salt);
  const std::string s_seq = repeat_to(ds.finish(), salt.size());
  // Step 21: the rounds.
  Digest round(sha);
  for (int i = 0; i < default_rounds; ++i) {
    round.reset();
    round.update(i % 2 != 0 ? std::string_view(p_seq) : std::string_view(a));
    if (i % 3 != 0)
      round.update(s_seq);
    if (i % 7 != 0)
      round.update(p_seq);
    round.update(i % 2 != 0 ? std::string_view(a) : std::string_view(p_seq));
    a = round.finish();
  }
  // Step 22: "$6$salt$" and the custom base-64 encoding.
  std::string out = "$6$" + std::string(salt) + "$";
  const auto byte = [&](int i) {
    return static_cast<unsigned char>(a[static_cast<std::size_t>(i)]);
  };
  for (const auto& [x, y, z] : final_order)
    encode(out, byte(x), byte(y), byte(z), 4);
  encode(out, 0, 0, byte(63), 2);
  return out;
}

std::string derived_salt(std::string_view seed) {
  const std::string d = digest(DigestAlgorithm::sha256, seed);
  std::string salt;
  for (std::size_t i = 0; i < 16; ++i)
    salt.push_back(crypt_alphabet[static_cast<unsigned char>(d[i]) & 0x3FU]);
  return salt;
}

bool looks_like_crypt_hash(std::string_view text) {
  for (std::string_view prefix : {"$1$", "$5$", "$6$", "$y$", "$2b$", "$2y$"})
    if (text.substr(0, prefix.size()) == prefix)
      return text.size() > prefix.size() + 8 &&
             text.find_first_of(" \t\n:") == std::string_view::npos;
  return false;
}

} // namespace kvmrun::seeds
