#include "images/checksums.hpp"

#include <algorithm>
#include <cctype>

namespace kvmrun::images {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// One manifest line -> (file, digest), or nothing.
std::optional<std::pair<std::string, HexDigest>> parse_line(std::string_view line) {
  line = trim(line);
  // BSD: "SHA512 (name) = hex"
  if (const auto open = line.find(" (");
      open != std::string_view::npos && line.find(") = ") != std::string_view::npos) {
    const auto close = line.rfind(") = ");
    const auto name = line.substr(open + 2, close - open - 2);
    const auto digest = parse_hex_digest(line.substr(0, open), trim(line.substr(close + 4)));
    if (!digest)
      return std::nullopt;
    return std::make_pair(std::string(name), *digest);
  }
  // GNU: "hex  name" or "hex *name"
  const auto space = line.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  const auto hex = line.substr(0, space);
  const auto algorithm = algorithm_of_hex_digest(hex);
  if (!algorithm)
    return std::nullopt;
  std::string_view name = line.substr(space + 1);
  if (!name.empty() && (name.front() == ' ' || name.front() == '*'))
    name.remove_prefix(1);
  if (name.substr(0, 2) == "./")
    name.remove_prefix(2);
  if (name.empty())
    return std::nullopt;
  const auto digest = parse_hex_digest(to_string(*algorithm), hex); // lower-cases the hex
  return std::make_pair(std::string(name), *digest);
}

} // namespace

Result<HexDigest> find_in_manifest(std::string_view manifest, std::string_view file_name) {
  std::optional<HexDigest> found;
  while (!manifest.empty()) {
    const auto nl = manifest.find('\n');
    const auto line = manifest.substr(0, nl);
    manifest.remove_prefix(nl == std::string_view::npos ? manifest.size() : nl + 1);
    const auto entry = parse_line(line);
    if (!entry || entry->first != file_name)
      continue;
    if (found && found->algorithm == entry->second.algorithm && !(*found == entry->second))
      return Error(ErrorCode::image, "the checksum manifest lists two different digests for " +
                                         std::string(file_name));
    // Prefer SHA-512 when a manifest carries both.
    if (!found || entry->second.algorithm == DigestAlgorithm::sha512)
      found = entry->second;
  }
  if (!found)
    return Error(ErrorCode::image,
                 "the checksum manifest has no entry for " + std::string(file_name),
                 "check that checksum_url matches the image url, or pin a checksum");
  return *found;
}

std::string url_file_name(std::string_view url) {
  const auto end = url.find_first_of("?#");
  url = url.substr(0, end);
  const auto slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

} // namespace kvmrun::images
