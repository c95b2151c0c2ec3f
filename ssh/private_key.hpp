// An ed25519 key pair (made with OpenSSL) and OpenSSH's own private key file format
// (PROTOCOL.key in OpenSSH: "openssh-key-v1", unencrypted), which the system ssh reads as
// `-i FILE`. Reading a file back checks all of it, down to the public key derived again from
// the private one: a torn or edited key file is an error, never a key that silently fails.
#pragma once

#include "base/result.hpp"
#include "ssh/public_key.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kvmrun::ssh {

struct Ed25519Key {
  std::string seed;       // the 32-byte private key (RFC 8032's seed)
  std::string public_key; // the 32-byte public point
  std::string comment;

  [[nodiscard]] PublicKey public_blob() const;
  // "ssh-ed25519 BASE64 COMMENT", as in an authorized_keys file.
  [[nodiscard]] std::string authorized_key() const;
};

// A fresh key from OpenSSL's random generator. ErrorCode::internal if OpenSSL fails.
[[nodiscard]] Result<Ed25519Key> generate_ed25519(std::string comment);

// The file's text. `check` is the file's random check word (any value; generate_ed25519's
// caller passes a random one): the same key and check give the same bytes.
[[nodiscard]] std::string private_key_file(const Ed25519Key& key, std::uint32_t check);

// ErrorCode::protocol naming what is wrong (armour, magic, an encrypted key, check words,
// lengths, padding, a public key that does not belong to the private one).
[[nodiscard]] Result<Ed25519Key> parse_private_key_file(std::string_view text);

// A random check word for private_key_file.
[[nodiscard]] std::uint32_t random_check_word();

} // namespace kvmrun::ssh
