// An SSH public key as authorized_keys, known_hosts and ssh_host_*_key.pub files write it:
// "TYPE BASE64-BLOB [COMMENT]", whose blob starts with its own type (RFC 4253 section 6.6).
#pragma once

#include "base/result.hpp"

#include <string>
#include <string_view>

namespace kvmrun::ssh {

struct PublicKey {
  std::string type; // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::string blob; // the wire-encoded key, starting with `type`

  friend bool operator==(const PublicKey&, const PublicKey&) = default;
};

// ErrorCode::protocol saying what is wrong: not two or three fields, a blob that is not base64
// or does not start with the type written before it, an ssh-ed25519 key of the wrong length.
[[nodiscard]] Result<PublicKey> parse_public_key(std::string_view line);

// "TYPE BASE64" (no comment).
[[nodiscard]] std::string to_text(const PublicKey& key);

// As `ssh-keygen -l` shows it: "SHA256:" and the unpadded base64 of the blob's SHA-256.
[[nodiscard]] std::string fingerprint(const PublicKey& key);

} // namespace kvmrun::ssh
