#include "seeds/password.hpp"

#include "base/digest.hpp"

#include <crypt.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace kvmrun::seeds {

namespace {

// crypt(3) through libxcrypt's reentrant form, with its failure as a value.
Result<std::string> crypt_with(std::string_view password, const std::string& setting) {
  if (password.find('\0') != std::string_view::npos)
    return Error(ErrorCode::config, "a password cannot contain a NUL byte");
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string phrase(password);
  errno = 0;
  const char* hash = ::crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  if (hash == nullptr || hash[0] == '*')
    return Error(ErrorCode::internal, "libxcrypt refused to hash a password with setting '" +
                                          setting.substr(0, 3) + "...' (" +
                                          std::strerror(errno != 0 ? errno : EINVAL) + ")");
  return std::string(hash);
}

} // namespace

std::optional<PasswordScheme> parse_password_scheme(std::string_view text) {
  if (text == "sha512")
    return PasswordScheme::sha512;
  if (text == "yescrypt")
    return PasswordScheme::yescrypt;
  return std::nullopt;
}

Result<std::string> hash_password(std::string_view password, PasswordScheme scheme,
                                  std::string_view salt_seed) {
  // The "random" bytes of the salt come from the seed, so the same lab gives the same seed ISO.
  const std::string salt_bytes = digest(DigestAlgorithm::sha256, salt_seed).substr(0, 16);
  const char* prefix = scheme == PasswordScheme::yescrypt ? "$y$" : "$6$";
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  if (::crypt_gensalt_rn(prefix, 0, salt_bytes.data(), static_cast<int>(salt_bytes.size()),
                         setting.data(), static_cast<int>(setting.size())) == nullptr)
    return Error(ErrorCode::internal, std::string("libxcrypt could not make a ") + prefix +
                                          " salt (" + std::strerror(errno) + ")");
  return crypt_with(password, setting.data());
}

Result<std::string> sha512_crypt(std::string_view password, std::string_view salt) {
  return crypt_with(password, "$6$" + std::string(salt.substr(0, 16)));
}

bool looks_like_crypt_hash(std::string_view text) {
  for (std::string_view prefix : {"$1$", "$5$", "$6$", "$y$", "$2b$", "$2y$"})
    if (text.substr(0, prefix.size()) == prefix)
      return text.size() > prefix.size() + 8 &&
             text.find_first_of(" \t\n:") == std::string_view::npos;
  return false;
}

} // namespace kvmrun::seeds
