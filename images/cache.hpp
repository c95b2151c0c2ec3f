// The verified image cache. Layout under its root:
//
//   <name>/<algorithm>-<hex>.<format>       a verified base image, mode 0444, named by digest
//   <name>/<algorithm>-<hex>.<format>.json  where it came from and when
//   <name>/.partial-<algorithm>-<hex>       a download in progress (resumable)
//   <name>/.manifest-<12 hex of its URL>    the checksum manifest as last fetched (its mtime)
//   <name>/.lock                            held (flock) while fetching <name>
//
// An entry is complete and verified, or absent: bytes are hashed as they stream in and only a
// matching, safe image is renamed into place. A changed upstream "latest" gets a new digest and
// so a new file beside the old one. A cached entry is checked on every fetch: quickly (its size,
// inode and modification time as recorded when it was last hashed) or, when asked, hashed in
// full again; a file whose bytes no longer match its digest is refused.
#pragma once

#include "base/result.hpp"
#include "images/checksums.hpp"
#include "images/download.hpp"
#include "images/qcow2.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kvmrun::images {

enum class CacheCheck { quick, full };

struct ImageSource {
  std::string name;                // catalog name: [a-z0-9-]
  std::string url;                 // https/http/file URL or an absolute path
  std::optional<HexDigest> digest; // pinned, or:
  std::string checksum_url;        // a manifest listing the url's file name
  DiskFormat format = DiskFormat::qcow2;
  DownloadPolicy policy;
  CacheCheck check = CacheCheck::quick; // how a cached entry is checked before use
  // How old the last fetched manifest may be and still be used: zero (the default) fetches it
  // every time; seconds::max() never fetches it again once it is cached.
  std::chrono::seconds manifest_max_age{0};
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
  std::string checked;  // how a cached entry was checked ("" when it was downloaded)
  std::string manifest; // where the digest came from: "pinned", "manifest fetched", ...
};

// The expected digest and how it was found.
struct ExpectedDigest {
  HexDigest digest;
  std::string how; // "pinned", "manifest fetched", "manifest cached 3h ago"
  // The manifest as just downloaded (fetch() keeps it for checksum_refresh); nullopt when it
  // was pinned or came from the cache.
  std::optional<std::string> fetched_manifest;
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

  // The expected digest of `source`: pinned, or read from its manifest (fetched, or cached
  // within its manifest_max_age). Changes nothing in the cache: `up --dry-run` asks it too.
  [[nodiscard]] Result<ExpectedDigest> expected_digest(const ImageSource& source) const;

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

} // namespace kvmrun::images
