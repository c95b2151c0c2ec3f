// Password hashing for cloud-init's `passwd` field, so plain passwords never reach the seed.
#pragma once

#include <string>
#include <string_view>

namespace kvmrun::seeds {

// SHA-512-crypt ("$6$", Drepper's "Unix crypt using SHA-256 and SHA-512", 2007), as glibc's
// crypt(3) and mkpasswd -m sha-512 produce, with the default 5000 rounds. `salt` uses at most
// its first 16 characters and must come from [./0-9A-Za-z].
[[nodiscard]] std::string sha512_crypt(std::string_view password, std::string_view salt);

// A 16-character salt derived from `seed` (for example "lab/instance/user"): the same input
// gives the same salt, so seed ISOs stay byte-reproducible, and different users differ.
[[nodiscard]] std::string derived_salt(std::string_view seed);

// Whether `text` looks like a crypt(3) hash kvmrun can pass through ($1$, $5$, $6$, $y$, $2b$).
[[nodiscard]] bool looks_like_crypt_hash(std::string_view text);

} // namespace kvmrun::seeds
