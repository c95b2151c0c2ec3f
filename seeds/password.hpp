// Password hashing for cloud-init's `passwd` field, so plain passwords never reach the seed.
// The hashing is libxcrypt's (crypt_rn, crypt_gensalt_rn), the library Debian's own passwd
// uses; this file is the only one that includes it.
#pragma once

#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kvmrun::seeds {

enum class PasswordScheme {
  sha512,   // "$6$", SHA-512-crypt with 5000 rounds: every guest's libc reads it (the default)
  yescrypt, // "$y$", Debian 11+'s own default; guests with an older libxcrypt cannot log in
};
[[nodiscard]] std::optional<PasswordScheme> parse_password_scheme(std::string_view text);

// `password` hashed with `scheme` and a salt derived from `salt_seed` (for example
// "lab/instance/user"): the same input gives the same hash, so seed ISOs stay byte-reproducible,
// and different users get different salts. ErrorCode::internal if libxcrypt refuses.
[[nodiscard]] Result<std::string> hash_password(std::string_view password, PasswordScheme scheme,
                                                std::string_view salt_seed);

// SHA-512-crypt with an explicit salt: crypt(3) with the setting "$6$<salt>", as glibc's crypt
// and mkpasswd -m sha-512 produce. `salt` uses at most 16 characters of [./0-9A-Za-z].
[[nodiscard]] Result<std::string> sha512_crypt(std::string_view password, std::string_view salt);

// Whether `text` looks like a crypt(3) hash kvmrun can pass through ($1$, $5$, $6$, $y$, $2b$).
[[nodiscard]] bool looks_like_crypt_hash(std::string_view text);

} // namespace kvmrun::seeds
