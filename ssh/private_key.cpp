#include "ssh/private_key.hpp"

#include "base/base64.hpp"
#include "ssh/wire.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace kvmrun::ssh {

namespace {

constexpr std::string_view begin_line = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view end_line = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view magic{"openssh-key-v1\0", 15};
constexpr std::string_view key_type = "ssh-ed25519";
constexpr std::size_t point_size = 32;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The public point OpenSSL derives from a private seed; empty if it cannot.
std::string public_of(std::string_view seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  unsigned char point[point_size];
  std::size_t size = sizeof point;
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), point, &size) != 1 || size != point_size)
    return {};
  return {reinterpret_cast<const char*>(point), size};
}

Error damaged(const std::string& what) {
  return Error(ErrorCode::protocol, "not an unencrypted OpenSSH ed25519 private key: " + what);
}

} // namespace

PublicKey Ed25519Key::public_blob() const {
  std::string blob;
  put_string(blob, key_type);
  put_string(blob, public_key);
  return PublicKey{std::string(key_type), std::move(blob)};
}

std::string Ed25519Key::authorized_key() const {
  return to_text(public_blob()) + (comment.empty() ? "" : " ") + comment;
}

Result<Ed25519Key> generate_ed25519(std::string comment) {
  unsigned char seed[point_size];
  if (RAND_bytes(seed, sizeof seed) != 1)
    return Error(ErrorCode::internal, "OpenSSL's random generator failed to make an SSH key");
  Ed25519Key key{
      std::string(reinterpret_cast<const char*>(seed), sizeof seed), {}, std::move(comment)};
  key.public_key = public_of(key.seed);
  if (key.public_key.empty())
    return Error(ErrorCode::internal, "OpenSSL could not derive an ed25519 public key");
  return key;
}

std::uint32_t random_check_word() {
  unsigned char b[4] = {};
  (void)RAND_bytes(b, sizeof b); // not a secret: only a check that decryption worked
  return (std::uint32_t{b[0]} << 24U) | (std::uint32_t{b[1]} << 16U) | (std::uint32_t{b[2]} << 8U) |
         b[3];
}

std::string private_key_file(const Ed25519Key& key, std::uint32_t check) {
  const PublicKey pub = key.public_blob();
  std::string secret;
  put_u32(secret, check);
  put_u32(secret, check);
  put_string(secret, key_type);
  put_string(secret, key.public_key);
  put_string(secret, key.seed + key.public_key); // OpenSSH keeps seed || public point
  put_string(secret, key.comment);
  for (char pad = 1; secret.size() % 8 != 0; ++pad) // "none" has a block size of 8
    secret.push_back(pad);

  std::string body(magic);
  put_string(body, "none"); // cipher
  put_string(body, "none"); // kdf
  put_string(body, "");     // kdf options
  put_u32(body, 1);         // one key
  put_string(body, pub.blob);
  put_string(body, secret);

  const std::string b64 = base64_encode(body);
  std::string text(begin_line);
  text += '\n';
  for (std::size_t i = 0; i < b64.size(); i += 70)
    text.append(b64, i, 70).push_back('\n');
  text.append(end_line).push_back('\n');
  return text;
}

Result<Ed25519Key> parse_private_key_file(std::string_view text) {
  const auto begin = text.find(begin_line);
  const auto end = text.find(end_line);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    return damaged("no BEGIN/END OPENSSH PRIVATE KEY lines");
  std::string b64;
  for (const char c : text.substr(begin + begin_line.size(), end - begin - begin_line.size()))
    if (c != '\n' && c != '\r')
      b64.push_back(c);
  const auto body = base64_decode(b64);
  if (!body)
    return damaged("its body is not base64");
  if (!std::string_view(*body).starts_with(magic))
    return damaged("no openssh-key-v1 magic");
  WireReader r(std::string_view(*body).substr(magic.size()));
  const auto cipher = r.string();
  const auto kdf = r.string();
  const auto kdf_options = r.string();
  const auto count = r.u32();
  const auto pub = r.string();
  const auto secret = r.string();
  if (!secret || !r.rest().empty())
    return damaged("it is cut short or has bytes after its key");
  if (*cipher != "none" || *kdf != "none" || !kdf_options->empty())
    return damaged("it is encrypted (cipher " + std::string(*cipher) + ")");
  if (*count != 1)
    return damaged("it holds " + std::to_string(*count) + " keys");
  WireReader s(*secret);
  const auto check1 = s.u32();
  const auto check2 = s.u32();
  const auto type = s.string();
  const auto point = s.string();
  const auto pair = s.string();
  const auto comment = s.string();
  if (!comment)
    return damaged("its private part is cut short");
  if (*check1 != *check2)
    return damaged("its check words differ");
  if (*type != key_type)
    return damaged("it is a " + std::string(*type) + " key");
  if (point->size() != point_size || pair->size() != 2 * point_size ||
      pair->substr(point_size) != *point)
    return damaged("its key lengths are wrong");
  const auto padding = s.rest();
  for (std::size_t i = 0; i < padding.size(); ++i)
    if (static_cast<unsigned char>(padding[i]) != i + 1 || padding.size() >= 8)
      return damaged("its padding is wrong");
  Ed25519Key key{std::string(pair->substr(0, point_size)), std::string(*point),
                 std::string(*comment)};
  if (public_of(key.seed) != key.public_key)
    return damaged("its public key does not belong to its private key");
  if (key.public_blob().blob != *pub)
    return damaged("its public key differs from the one inside the private part");
  return key;
}

} // namespace kvmrun::ssh
