#include "images/cache.hpp"

#include "base/file_digest.hpp"

#include "base/json_record.hpp"

#include "base/file_io.hpp"
#include "base/file_stamp.hpp"
#include "base/unique_fd.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>

namespace kvmrun::images {

namespace {

std::string file_stem(const HexDigest& d) {
  return std::string(to_string(d.algorithm)) + "-" + d.hex;
}

// Parses "<algorithm>-<hex>.<format>" file names.
std::optional<std::pair<HexDigest, DiskFormat>> parse_entry_name(const std::string& name) {
  const auto dash = name.find('-');
  const auto dot = name.rfind('.');
  if (dash == std::string::npos || dot == std::string::npos || dot < dash)
    return std::nullopt;
  const std::string algorithm = name.substr(0, dash);
  const std::string hex = name.substr(dash + 1, dot - dash - 1);
  const auto format = parse_disk_format(name.substr(dot + 1));
  if (!format)
    return std::nullopt;
  const auto digest = parse_hex_digest(algorithm, hex);
  if (!digest || algorithm != to_string(digest->algorithm))
    return std::nullopt; // kvmrun writes the algorithm in lower case
  const HexDigest d{digest->algorithm, hex};
  return std::make_pair(d, *format);
}

CacheEntry read_entry(const std::string& name, const std::filesystem::path& file,
                      const HexDigest& digest, DiskFormat format) {
  CacheEntry e{name, digest, format, file, 0, "", 0};
  std::error_code ec;
  e.size = std::filesystem::file_size(file, ec);
  // The record only says where the verified file came from and when: a missing or damaged one
  // is recovered from (no URL, the file's time) rather than refused; the file's own name holds
  // the digest that matters.
  if (const auto meta = JsonRecord::load(file.string() + ".json", 1U << 16U)) {
    if (auto url = meta->string("url"))
      e.url = *url;
    if (auto at = meta->integer("fetched_at"))
      e.fetched_at = *at;
  }
  if (e.fetched_at == 0) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0)
      e.fetched_at = st.st_mtime;
  }
  return e;
}

std::optional<FileStamp> recorded_stamp(const Result<JsonRecord>& meta) {
  if (!meta)
    return std::nullopt;
  const auto v = meta->object("verified");
  return v ? stamp_from(*v) : std::nullopt;
}

// Records a fresh stamp in the entry's metadata file, keeping what else it says. Best effort:
// a metadata file that cannot be written costs the next run a full hash, nothing else.
void restamp(const std::filesystem::path& meta_file, const Result<JsonRecord>& old,
             const FileStamp& stamp) {
  boost::json::object meta;
  if (old)
    meta = old->fields();
  meta["verified"] = stamp_json(stamp);
  (void)write_file_atomic(meta_file, boost::json::serialize(meta) + "\n", 0644);
}

// Where the last fetched manifest of `source` is kept.
std::filesystem::path manifest_copy(const std::filesystem::path& root, const ImageSource& source) {
  return root / source.name / (".manifest-" + sha256_hex(source.checksum_url).substr(0, 12));
}

// Holds the per-name fetch lock.
Result<UniqueFd> lock_name(const std::filesystem::path& dir) {
  const auto path = dir / ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0)
    return system_error(ErrorCode::io, "opening " + path.string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return system_error(ErrorCode::io, "locking " + path.string(), errno);
    // Another kvmrun is fetching this image; its transfer has its own timeouts.
    while (::flock(fd.get(), LOCK_EX) != 0)
      if (errno != EINTR)
        return system_error(ErrorCode::io, "locking " + path.string(), errno);
  }
  return UniqueFd(fd.release());
}

} // namespace

ImageCache::ImageCache(std::filesystem::path root) : m_root(std::move(root)) {}

std::filesystem::path ImageCache::entry_path(const std::string& name, const HexDigest& digest,
                                             DiskFormat format) const {
  return m_root / name / (file_stem(digest) + "." + std::string(to_string(format)));
}

Result<ExpectedDigest> ImageCache::expected_digest(const ImageSource& source) const {
  if (source.digest)
    return ExpectedDigest{*source.digest, "pinned", std::nullopt};
  // The manifest as last fetched, when the image's refresh policy lets it be used.
  const auto cached = manifest_copy(m_root, source);
  const auto file_name = url_file_name(source.url);
  struct stat st {};
  if (source.manifest_max_age.count() > 0 && ::stat(cached.c_str(), &st) == 0) {
    const auto age =
        std::chrono::seconds(std::max<std::int64_t>(0, std::time(nullptr) - st.st_mtime));
    // A copy that is damaged or edited (no entry for the file) is fetched again, not trusted.
    if (auto text = read_file(cached, 16U << 20U); text && age < source.manifest_max_age)
      if (auto found = find_in_manifest(*text, file_name))
        return ExpectedDigest{std::move(found).value(),
                              "manifest cached " + std::to_string(age.count() / 3600) + " h " +
                                  std::to_string(age.count() % 3600 / 60) + " min ago",
                              std::nullopt};
  }
  auto text = download_text(source.checksum_url, source.policy);
  if (!text)
    return std::move(text).error().add_context("reading the checksum manifest of " + source.name);
  auto found = find_in_manifest(*text, file_name);
  if (!found)
    return std::move(found).error().add_context("reading " + source.checksum_url);
  return ExpectedDigest{std::move(found).value(), "manifest fetched", std::move(text).value()};
}

namespace {

// A cached entry, checked as `source` asks before it is used.
Result<FetchResult> checked_entry(const ImageSource& source, const std::filesystem::path& file,
                                  const ExpectedDigest& expected) {
  FetchResult r{read_entry(source.name, file, expected.digest, source.format), false, false, "",
                expected.how};
  const auto meta_file = std::filesystem::path(file.string() + ".json");
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return system_error(ErrorCode::io, "inspecting " + file.string(), errno);
  const auto meta = JsonRecord::load(meta_file, 1U << 16U);
  const auto recorded = recorded_stamp(meta);
  if (source.check == CacheCheck::quick && recorded && *recorded == stamp_of(st)) {
    r.checked = "size, inode and mtime as when it was hashed";
    return r;
  }
  auto hex = hash_file(file, expected.digest.algorithm);
  if (!hex)
    return std::move(hex).error();
  if (*hex != expected.digest.hex)
    return Error(ErrorCode::image,
                 "the cached image " + source.name + " (" + file.string() +
                     ") no longer matches its digest " + expected.digest.label() +
                     ": its bytes changed after kvmrun verified it",
                 "remove it (rm -f " + file.string() + " " + meta_file.string() +
                     ") and run again: kvmrun downloads and verifies it anew");
  restamp(meta_file, meta, stamp_of(st));
  r.checked = source.check == CacheCheck::full ? "hashed in full, as asked"
              : recorded                       ? "hashed in full: its size, inode or mtime changed"
                                               : "hashed in full: no record of its last hash";
  return r;
}

} // namespace

Result<FetchResult> ImageCache::fetch(const ImageSource& source, const ProgressSink& progress) {
  auto found = expected_digest(source);
  if (!found)
    return std::move(found).error();
  if (found->fetched_manifest) { // kept for checksum_refresh; a failure only costs a fetch
    const auto copy = manifest_copy(m_root, source);
    std::error_code mkdir_ec;
    std::filesystem::create_directories(copy.parent_path(), mkdir_ec);
    (void)write_file_atomic(copy, *found->fetched_manifest, 0644, Durability::regenerated);
  }
  const HexDigest* expected = &found->digest;
  const auto final_path = entry_path(source.name, *expected, source.format);
  const auto dir = final_path.parent_path();
  std::error_code ec;
  if (std::filesystem::exists(final_path, ec))
    return checked_entry(source, final_path, *found);
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error(ErrorCode::io, "creating " + dir.string() + ": " + ec.message(),
                 "set KVMRUN_CACHE_DIR to a writable directory");
  auto lock = lock_name(dir);
  if (!lock)
    return std::move(lock).error();
  if (std::filesystem::exists(final_path, ec)) // fetched by whoever held the lock
    return checked_entry(source, final_path, *found);

  const auto partial = dir / (".partial-" + file_stem(*expected));
  bool resumed = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd.get() < 0)
      return system_error(ErrorCode::io, "opening " + partial.string(), errno);
    Digest digest(expected->algorithm);
    if (auto hashed = hash_fd(fd.get(), digest, partial); !hashed)
      return std::move(hashed).error();
    const off_t have = ::lseek(fd.get(), 0, SEEK_END);
    resumed = have > 0;
    off_t offset = have;
    const ChunkSink sink = [&](std::string_view chunk) -> Status {
      digest.update(chunk);
      auto status = write_at(fd.get(), chunk, offset, partial.string());
      offset += static_cast<off_t>(chunk.size());
      return status;
    };
    auto outcome =
        download(source.url, static_cast<std::uint64_t>(have), sink, source.policy, progress);
    if (!outcome && resumed && outcome.error().message().rfind("cannot resume", 0) == 0) {
      // The server ignores byte ranges: start over.
      if (::ftruncate(fd.get(), 0) != 0)
        return system_error(ErrorCode::io, "truncating " + partial.string(), errno);
      offset = 0;
      digest.reset();
      resumed = false;
      outcome = download(source.url, 0, sink, source.policy, progress);
    }
    if (!outcome)
      return std::move(outcome).error().add_context("fetching image " + source.name);

    const std::string actual = to_hex(digest.finish());
    if (actual != expected->hex) {
      ::unlink(partial.c_str());
      if (resumed)
        continue; // the partial file may be from an older upstream version: once more, whole
      return Error(ErrorCode::image,
                   "checksum mismatch for image " + source.name + " from " + source.url +
                       ": expected " + expected->label() + ", got " +
                       std::string(to_string(expected->algorithm)) + ":" + actual +
                       "; the download was discarded and the cache is unchanged",
                   "check the url and checksum in the image catalog");
    }
    if (::fsync(fd.get()) != 0)
      return system_error(ErrorCode::io, "flushing " + partial.string(), errno);

    // Untrusted input: inspect the header before anything else may use it.
    auto info = inspect_image(partial, source.format);
    std::vector<std::string> reasons;
    if (!info)
      reasons.push_back(info.error().message());
    else
      reasons = info->unsafe_as_base();
    if (!reasons.empty()) {
      ::unlink(partial.c_str());
      std::string why;
      for (const auto& r : reasons)
        why += (why.empty() ? "" : "; ") + r;
      return Error(ErrorCode::image,
                   "image " + source.name +
                       " matches its checksum but is not safe as a base: " + why,
                   "use another image; it was not added to the cache");
    }
    if (::fchmod(fd.get(), 0444) != 0)
      return system_error(ErrorCode::io, "making " + partial.string() + " read-only", errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      return system_error(ErrorCode::io, "inspecting " + partial.string(), errno);
    const boost::json::object meta{{"name", source.name},
                                   {"url", source.url},
                                   {"digest", expected->label()},
                                   {"format", to_string(source.format)},
                                   {"size", static_cast<std::uint64_t>(info->file_size)},
                                   {"fetched_at", static_cast<std::int64_t>(std::time(nullptr))},
                                   {"verified", stamp_json(stamp_of(st))}};
    if (auto written = write_file_atomic(final_path.string() + ".json",
                                         boost::json::serialize(meta) + "\n", 0644);
        !written)
      return std::move(written).error();
    if (::rename(partial.c_str(), final_path.c_str()) != 0)
      return system_error(ErrorCode::io, "renaming " + partial.string(), errno);
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0)
      return system_error(ErrorCode::io, "flushing " + dir.string(), errno);
    return FetchResult{read_entry(source.name, final_path, *expected, source.format), true, resumed,
                       "", found->how};
  }
  return Error(ErrorCode::image,
               "checksum mismatch for image " + source.name +
                   " even after downloading it again from the start",
               "check the url and checksum in the image catalog");
}

std::vector<CacheEntry> ImageCache::list() const {
  std::vector<CacheEntry> entries;
  std::error_code ec;
  for (const auto& group : std::filesystem::directory_iterator(m_root, ec)) {
    if (!group.is_directory())
      continue;
    const std::string name = group.path().filename().string();
    for (const auto& file : std::filesystem::directory_iterator(group.path(), ec)) {
      const std::string fname = file.path().filename().string();
      if (fname.front() == '.' || file.path().extension() == ".json")
        continue;
      if (const auto parsed = parse_entry_name(fname))
        entries.push_back(read_entry(name, file.path(), parsed->first, parsed->second));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return std::tie(a.name, a.fetched_at, a.file) < std::tie(b.name, b.fetched_at, b.file);
  });
  return entries;
}

VerifyResult ImageCache::verify(const CacheEntry& entry) const {
  auto actual = hash_file(entry.file, entry.digest.algorithm);
  if (!actual)
    return {entry, false, actual.error().describe()};
  if (*actual != entry.digest.hex)
    return {entry, false,
            "content digest " + std::string(to_string(entry.digest.algorithm)) + ":" + *actual +
                " does not match its name"};
  return {entry, true, "digest matches"};
}

Result<PruneResult> ImageCache::prune(const std::set<std::filesystem::path>& in_use, bool all,
                                      bool dry_run) const {
  PruneResult result;
  std::map<std::string, std::vector<CacheEntry>> by_name;
  for (auto& e : list())
    by_name[e.name].push_back(std::move(e));
  for (auto& [name, entries] : by_name) {
    auto lock = lock_name(m_root / name); // no fetch of this name meanwhile
    if (!lock)
      return std::move(lock).error();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      std::error_code ec;
      const auto canonical = std::filesystem::weakly_canonical(e.file, ec);
      if (in_use.contains(ec ? e.file : canonical)) {
        result.kept_in_use.push_back(e);
        continue;
      }
      if (!all && i + 1 == entries.size())
        continue; // the newest of its name
      if (!dry_run) {
        if (::unlink(e.file.c_str()) != 0 && errno != ENOENT)
          return system_error(ErrorCode::io, "removing " + e.file.string(), errno);
        ::unlink((e.file.string() + ".json").c_str());
      }
      result.removed.push_back(e);
    }
  }
  return result;
}

} // namespace kvmrun::images
