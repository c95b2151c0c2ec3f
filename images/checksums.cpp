#include "images/checksums.hpp"

#include <algorithm>
#include <cctype>

namespace kvmrun::images {

namespace {

std::optional<DigestAlgorithm> algorithm_for_hex(std::string_view hex) {
  if (!std::all_of(hex.begin(), hex.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
    return std::nullopt;
  if (hex.size() == 64)
    return DigestAlgorithm::sha256;
  if (hex.size() == 128)
    return DigestAlgorithm::sha512;
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// One manifest line -> (file, digest), or nothing.
std::optional<std::pair<std::string, ExpectedDigest>> parse_line(std::string_view line) {
  line = trim(line);
  // BSD: "SHA512 (name) = hex"
  if (const auto open = line.find(" (");
      open != std::string_view::npos && line.find(") = ") != std::string_view::npos) {
    const auto close = line.rfind(") = ");
    const std::string tag = lower(line.substr(0, open));
    const auto name = line.substr(open + 2, close - open - 2);
    const auto hex = trim(line.substr(close + 4));
    const auto algorithm = algorithm_for_hex(hex);
    if (!algorithm || (tag != "sha256" && tag != "sha512") || tag != to_string(*algorithm))
      return std::nullopt;
    return std::make_pair(std::string(name), ExpectedDigest{*algorithm, lower(hex)});
  }
  // GNU: "hex  name" or "hex *name"
  const auto space = line.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  const auto hex = line.substr(0, space);
  const auto algorithm = algorithm_for_hex(hex);
  if (!algorithm)
    return std::nullopt;
  std::string_view name = line.substr(space + 1);
  if (!name.empty() && (name.front() == ' ' || name.front() == '*'))
    name.remove_prefix(1);
  if (name.substr(0, 2) == "./")
    name.remove_prefix(2);
  if (name.empty())
    return std::nullopt;
  return std::make_pair(std::string(name), ExpectedDigest{*algorithm, lower(hex)});
}

} // namespace

std::string ExpectedDigest::label() const { return std::string(to_string(algorithm)) + ":" + hex; }

Result<ExpectedDigest> find_in_manifest(std::string_view manifest, std::string_view file_name) {
  std::optional<ExpectedDigest> found;
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
