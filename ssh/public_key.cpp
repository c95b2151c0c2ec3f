#include "ssh/public_key.hpp"

#include "base/base64.hpp"
#include "base/digest.hpp"
#include "ssh/wire.hpp"

#include <vector>

namespace kvmrun::ssh {

namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start)
      out.push_back(line.substr(start, i - start));
    if (out.size() == 2) { // the rest is the comment, spaces and all
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
        ++i;
      if (i < line.size())
        out.push_back(line.substr(i));
      break;
    }
  }
  return out;
}

} // namespace

Result<PublicKey> parse_public_key(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.remove_suffix(1);
  const auto parts = fields(line);
  if (parts.size() < 2)
    return Error(ErrorCode::protocol, "expected \"TYPE BASE64 [COMMENT]\", got \"" +
                                          std::string(line.substr(0, 80)) + "\"");
  auto blob = base64_decode(parts[1]);
  if (!blob)
    return Error(ErrorCode::protocol, "the " + std::string(parts[0]) + " key is not valid base64");
  WireReader r(*blob);
  const auto inner = r.string();
  if (!inner || *inner != parts[0])
    return Error(ErrorCode::protocol,
                 "the key's blob does not start with its type " + std::string(parts[0]));
  if (parts[0] == "ssh-ed25519") {
    const auto point = r.string();
    if (!point || point->size() != 32 || !r.rest().empty())
      return Error(ErrorCode::protocol, "the ssh-ed25519 key is not 32 bytes");
  } else if (r.rest().empty()) {
    return Error(ErrorCode::protocol, "the " + std::string(parts[0]) + " key has no key data");
  }
  return PublicKey{std::string(parts[0]), std::move(*blob)};
}

std::string to_text(const PublicKey& key) { return key.type + " " + base64_encode(key.blob); }

std::string fingerprint(const PublicKey& key) {
  std::string b64 = base64_encode(digest(DigestAlgorithm::sha256, key.blob));
  while (!b64.empty() && b64.back() == '=')
    b64.pop_back();
  return "SHA256:" + b64;
}

} // namespace kvmrun::ssh
