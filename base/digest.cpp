#include "base/digest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace kvmrun {

std::string_view to_string(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? "sha256" : "sha512";
}

std::size_t digest_size(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? 32 : 64;
}

struct Digest::Context {
  EVP_MD_CTX* ctx = nullptr;
  ~Context() { EVP_MD_CTX_free(ctx); }
};

namespace {

const EVP_MD* md_of(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

void check(int ok) {
  if (ok != 1)
    std::abort(); // only fails on allocation failure or a broken OpenSSL build
}

} // namespace

Digest::Digest(DigestAlgorithm algorithm)
    : m_algorithm(algorithm), m_context(std::make_unique<Context>()) {
  m_context->ctx = EVP_MD_CTX_new();
  if (m_context->ctx == nullptr)
    std::abort();
  reset();
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::reset() { check(EVP_DigestInit_ex(m_context->ctx, md_of(m_algorithm), nullptr)); }

void Digest::update(std::string_view bytes) {
  check(EVP_DigestUpdate(m_context->ctx, bytes.data(), bytes.size()));
}

std::string Digest::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(m_context->ctx, out, &len));
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string digest(DigestAlgorithm algorithm, std::string_view bytes) {
  Digest d(algorithm);
  d.update(bytes);
  return d.finish();
}

std::optional<DigestAlgorithm> algorithm_of_hex_digest(std::string_view hex) {
  if (!std::all_of(hex.begin(), hex.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
    return std::nullopt;
  for (const auto algorithm : {DigestAlgorithm::sha256, DigestAlgorithm::sha512})
    if (hex.size() == 2 * digest_size(algorithm))
      return algorithm;
  return std::nullopt;
}

std::string HexDigest::label() const { return std::string(to_string(algorithm)) + ":" + hex; }

std::optional<HexDigest> parse_hex_digest(std::string_view algorithm, std::string_view hex) {
  std::string name(algorithm);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto by_length = algorithm_of_hex_digest(hex);
  if (!by_length || name != to_string(*by_length))
    return std::nullopt;
  HexDigest d{*by_length, std::string(hex)};
  std::transform(d.hex.begin(), d.hex.end(), d.hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return d;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(hex[c >> 4U]);
    out.push_back(hex[c & 15U]);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  return to_hex(digest(DigestAlgorithm::sha256, bytes));
}

} // namespace kvmrun
