// Checksum manifests as distributions publish them: GNU coreutils lines ("<hex>  <file>" or
// "<hex> *<file>", as in SHA512SUMS) and BSD tagged lines ("SHA512 (<file>) = <hex>").
#pragma once

#include "base/digest.hpp"
#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kvmrun::images {

// The entry for `file_name` in `manifest`. ErrorCode::image when there is none, or two that
// disagree. Lines it cannot read are skipped (manifests carry comments and signatures).
[[nodiscard]] Result<HexDigest> find_in_manifest(std::string_view manifest,
                                                 std::string_view file_name);

// The last path segment of a URL or path, without query or fragment.
[[nodiscard]] std::string url_file_name(std::string_view url);

} // namespace kvmrun::images
