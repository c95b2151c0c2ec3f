// SHA-256 and SHA-512, incremental (for hashing a download while it streams) or in one call.
// The only file that includes OpenSSL's digest API.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kvmrun {

enum class DigestAlgorithm { sha256, sha512 };

[[nodiscard]] std::string_view to_string(DigestAlgorithm algorithm);
[[nodiscard]] std::size_t digest_size(DigestAlgorithm algorithm); // bytes

// Move-only. update() any number of times, then finish() once; the object can then be reused
// after reset(). OpenSSL failures here are out-of-memory class and abort.
class Digest {
public:
  explicit Digest(DigestAlgorithm algorithm);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view bytes);
  [[nodiscard]] std::string finish(); // raw digest bytes
  void reset();

  [[nodiscard]] DigestAlgorithm algorithm() const { return m_algorithm; }

private:
  struct Context;
  DigestAlgorithm m_algorithm;
  std::unique_ptr<Context> m_context;
};

// The algorithm whose hex digest has this length (64: SHA-256, 128: SHA-512), if `hex` is all
// hex digits.
[[nodiscard]] std::optional<DigestAlgorithm> algorithm_of_hex_digest(std::string_view hex);

// A digest as kvmrun pins, records and compares it: the lab's `checksum`, a manifest's entry, a
// cache file's name, a provenance record.
struct HexDigest {
  DigestAlgorithm algorithm = DigestAlgorithm::sha512;
  std::string hex; // lower case

  [[nodiscard]] std::string label() const; // "sha512:ab12..."
  friend bool operator==(const HexDigest&, const HexDigest&) = default;
};
// A digest named by its algorithm ("sha256", "sha512"; any case) and written in hex of that
// algorithm's length, as in "sha512:<hex>", "SHA512 (f) = <hex>" and cache file names.
[[nodiscard]] std::optional<HexDigest> parse_hex_digest(std::string_view algorithm,
                                                        std::string_view hex);

[[nodiscard]] std::string digest(DigestAlgorithm algorithm, std::string_view bytes); // raw
[[nodiscard]] std::string to_hex(std::string_view bytes);
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

} // namespace kvmrun
