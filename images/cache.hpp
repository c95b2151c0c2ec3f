// The verified image cache. Layout under its root:
//
//   <name>/<algorithm>-<hex>.<format>       a verified base image, mode 0444, named by digest
//   <name>/<algorithm>-<hex>.<format>.json  where it came from and when
//   <name>/.partial-<algorithm>-<hex>       a download in progress (resumable)
//   <name>/.lock                            held (flock) while fetching <name>
//
// An entry is complete and verified, or absent: bytes are hashed as they stream in and only a
// matching, safe image is renamed into place. A changed upstream "latest" gets a new digest and
// so a new file beside the old one.
#pragma once

#include "base/result.hpp"
#include "images/checksums.hpp"
#include "images/download.hpp"
#include "images/qcow2.hpp"

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kvmrun::images {

struct ImageSource {
  std::string name;                // catalog name: [a-z0-9-]
  std::string url;                 // https/http/file URL or an absolute path
  std::optional<HexDigest> digest; // pinned, or:
  std::string checksum_url;        // a manifest listing the url's file name
  DiskFormat format = DiskFormat::qcow2;
  DownloadPolicy policy;
};

struct CacheEntry {
  std::string name;
  HexDigest digest;
  DiskFormat format = DiskFormat::qcow2;
  std::filesystem::path file;
  std::uint64_t size = 0;
  std::string url;             // from the metadata file ("" if it is missing)
  std::int64_t fetched_at = 0; // seconds since 1970
};

struct FetchResult {
  CacheEntry entry;
  bool downloaded = false; // false: it was already cached
  bool resumed = false;
};

struct VerifyResult {
  CacheEntry entry;
  bool ok = false;
  std::string detail; // what was found
};

struct PruneResult {
  std::vector<CacheEntry> removed;
  std::vector<CacheEntry> kept_in_use;
};

class ImageCache {
public:
  explicit ImageCache(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const { return m_root; }

  // Resolves the expected digest (pinned or from the manifest), then returns the cached entry
  // or downloads, verifies and inspects it. Two fetches of one image at once download once.
  [[nodiscard]] Result<FetchResult> fetch(const ImageSource& source,
                                          const ProgressSink& progress = {});

  // The expected digest of `source`: pinned, or read from its manifest.
  [[nodiscard]] Result<HexDigest> expected_digest(const ImageSource& source) const;

  // Every complete entry, by name then fetch time.
  [[nodiscard]] std::vector<CacheEntry> list() const;

  // Re-hashes an entry's file and compares it with the digest in its name.
  [[nodiscard]] VerifyResult verify(const CacheEntry& entry) const;

  // Removes entries whose files no path in `in_use` refers to (backing files of overlays).
  // Without `all`, the newest entry of each name is kept too. `dry_run` removes nothing.
  [[nodiscard]] Result<PruneResult> prune(const std::set<std::filesystem::path>& in_use, bool all,
                                          bool dry_run) const;

  // The path an image with this digest has (or will have) in the cache.
  [[nodiscard]] std::filesystem::path entry_path(const std::string& name, const HexDigest& digest,
                                                 DiskFormat format) const;

private:
  std::filesystem::path m_root;
};

// Hashes a file (streamed, 1 MiB at a time). ErrorCode::io on read errors.
[[nodiscard]] Result<std::string> hash_file(const std::filesystem::path& path,
                                            DigestAlgorithm algorithm);

} // namespace kvmrun::images
