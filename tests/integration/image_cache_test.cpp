// The image cache against real HTTP and HTTPS servers on loopback with fault modes
// (tests/support/fault_http_server.py): every failure ends in a clear error and an unchanged
// cache; interrupted downloads resume; bad bytes never enter the cache.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "images/cache.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>

namespace kvmrun::images {
namespace {

using namespace std::chrono_literals;

struct Servers {
  testing::TempDir dir;
  std::string image; // served raw image bytes
  std::string http;  // base URLs
  std::string https;
  std::string ca; // the test CA's certificate
  std::unique_ptr<testing::BackgroundProcess> http_server;
  std::unique_ptr<testing::BackgroundProcess> https_server;
  std::unique_ptr<testing::BackgroundProcess> rogue_server; // certificate from another CA
  std::string rogue;
  std::string skip_reason;

  Servers() {
    for (const char* tool : {"python3", "openssl"})
      if (!find_executable(tool)) {
        skip_reason = std::string(tool) + " is not installed";
        return;
      }
    std::mt19937 rng(7);
    image.resize(2U << 20U);
    for (auto& c : image)
      c = static_cast<char>(rng());
    const auto root = dir / "www";
    std::filesystem::create_directories(root);
    (void)write_file_atomic(root / "disk.raw", image, 0644);
    make_certificates();
    const std::string script = KVMRUN_SOURCE_DIR "/tests/support/fault_http_server.py";
    http_server = std::make_unique<testing::BackgroundProcess>(
        std::vector<std::string>{"python3", script, "--root", root.string(), "--lifetime", "900"});
    const auto port = http_server->wait_for_line("PORT ", 20s);
    if (!port) {
      skip_reason = "the test HTTP server did not start";
      return;
    }
    http = "http://127.0.0.1:" + port->substr(5);
    https_server = std::make_unique<testing::BackgroundProcess>(std::vector<std::string>{
        "python3", script, "--root", root.string(), "--cert", (dir / "server.pem").string(),
        "--key", (dir / "server.key").string(), "--http-port", port->substr(5), "--lifetime",
        "900"});
    const auto tls_port = https_server->wait_for_line("PORT ", 20s);
    rogue_server = std::make_unique<testing::BackgroundProcess>(std::vector<std::string>{
        "python3", script, "--root", root.string(), "--cert", (dir / "rogue.pem").string(), "--key",
        (dir / "rogue.key").string(), "--lifetime", "900"});
    const auto rogue_port = rogue_server->wait_for_line("PORT ", 20s);
    if (!tls_port || !rogue_port) {
      skip_reason = "the test HTTPS servers did not start";
      return;
    }
    https = "https://127.0.0.1:" + tls_port->substr(5);
    rogue = "https://127.0.0.1:" + rogue_port->substr(5);
    ca = (dir / "ca.pem").string();
  }

  void make_certificates() {
    const auto p = [&](const char* name) { return (dir / name).string(); };
    const std::vector<std::string> ec{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                      "-nodes"};
    auto run = [](std::vector<std::string> argv) { (void)run_command(argv); };
    std::vector<std::string> ca_cmd{"openssl", "req", "-x509"};
    ca_cmd.insert(ca_cmd.end(), ec.begin(), ec.end());
    ca_cmd.insert(ca_cmd.end(), {"-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj",
                                 "/CN=kvmrun test CA"});
    run(ca_cmd);
    std::vector<std::string> csr{"openssl", "req"};
    csr.insert(csr.end(), ec.begin(), ec.end());
    csr.insert(csr.end(),
               {"-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=127.0.0.1"});
    run(csr);
    (void)write_file_atomic(dir / "san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    run({"openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey",
         p("ca.key"), "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile",
         p("san.ext")});
    std::vector<std::string> rogue_cmd{"openssl", "req", "-x509"};
    rogue_cmd.insert(rogue_cmd.end(), ec.begin(), ec.end());
    rogue_cmd.insert(rogue_cmd.end(),
                     {"-keyout", p("rogue.key"), "-out", p("rogue.pem"), "-days", "2", "-subj",
                      "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
    run(rogue_cmd);
  }
};

Servers& servers() {
  static Servers s;
  return s;
}

class ImageCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!servers().skip_reason.empty())
      GTEST_SKIP() << servers().skip_reason;
  }

  ImageSource source(const std::string& url) const {
    ImageSource s;
    s.name = "disk";
    s.url = url;
    s.digest = HexDigest{DigestAlgorithm::sha256, sha256_hex(servers().image)};
    s.format = DiskFormat::raw;
    s.policy.allow_http = url.rfind("http://", 0) == 0;
    s.policy.ca_file = servers().ca;
    s.policy.connect_timeout = 5s;
    s.policy.low_speed_time = 2s;
    return s;
  }

  // Nothing but the lock (and, where a resume is possible, a partial file) may be left.
  void expect_no_entry() const {
    EXPECT_TRUE(cache.list().empty());
    const auto dir = root.path() / "disk";
    if (!std::filesystem::exists(dir))
      return;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      const auto name = f.path().filename().string();
      EXPECT_TRUE(name == ".lock" || name.rfind(".partial-", 0) == 0) << name;
    }
  }

  testing::TempDir root;
  ImageCache cache{root.path()};
};

TEST_F(ImageCacheTest, FetchesVerifiesAndStoresAReadOnlyFileNamedByItsDigest) {
  auto r = cache.fetch(source(servers().http + "/ok/disk.raw"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->downloaded);
  EXPECT_EQ(r->entry.file,
            root.path() / "disk" / ("sha256-" + sha256_hex(servers().image) + ".raw"));
  EXPECT_EQ(*read_file(r->entry.file), servers().image);
  struct stat st {};
  ASSERT_EQ(::stat(r->entry.file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0444U);
  const auto again = cache.fetch(source(servers().http + "/ok/disk.raw"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->downloaded);
  ASSERT_EQ(cache.list().size(), 1U);
  EXPECT_EQ(cache.list()[0].url, servers().http + "/ok/disk.raw");
}

TEST_F(ImageCacheTest, ADamagedSourceRecordIsRecoveredFromNotAnAbort) {
  auto r = cache.fetch(source(servers().http + "/ok/disk.raw"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  const auto record = r->entry.file.string() + ".json";
  for (const std::string damaged : {"", "{\"url\": 42, \"fetched_at\": \"soon\"}", "[1,", "{}"}) {
    std::filesystem::remove(record);
    testing::write_file(record, damaged);
    const auto entries = cache.list();
    ASSERT_EQ(entries.size(), 1U) << damaged;
    EXPECT_EQ(entries[0].url, "") << damaged;
    EXPECT_GT(entries[0].fetched_at, 0) << "falls back to the file's time";
    EXPECT_TRUE(cache.verify(entries[0]).ok);
  }
}

TEST_F(ImageCacheTest, HttpsWithTheRightCaWorksAndWithoutItFailsVerification) {
  ASSERT_TRUE(cache.fetch(source(servers().https + "/ok/disk.raw")).ok());
  testing::TempDir other;
  ImageCache fresh(other.path());
  auto no_ca = source(servers().https + "/ok/disk.raw");
  no_ca.policy.ca_file.clear();
  const auto r = fresh.fetch(no_ca);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::image);
  EXPECT_NE(r.error().message().find("TLS verification failed"), std::string::npos)
      << r.error().describe();
  EXPECT_NE(r.error().remedy().find("ca_file"), std::string::npos);
  EXPECT_TRUE(fresh.list().empty());
}

TEST_F(ImageCacheTest, ACertificateFromAnotherCaIsRefused) {
  const auto r = cache.fetch(source(servers().rogue + "/ok/disk.raw"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS verification failed"), std::string::npos)
      << r.error().describe();
  expect_no_entry();
}

TEST_F(ImageCacheTest, WrongBytesNeverEnterTheCache) {
  const auto r = cache.fetch(source(servers().http + "/wrong/disk.raw"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("checksum mismatch"), std::string::npos);
  EXPECT_NE(r.error().message().find("the cache is unchanged"), std::string::npos);
  expect_no_entry();
  EXPECT_FALSE(std::filesystem::exists(root.path() / "disk" /
                                       (".partial-sha256-" + sha256_hex(servers().image))));
  // No manual purge is needed: the right bytes go straight in.
  EXPECT_TRUE(cache.fetch(source(servers().http + "/ok/disk.raw")).ok());
}

TEST_F(ImageCacheTest, HttpErrorsNameTheStatus) {
  for (const char* status : {"404", "500"}) {
    const auto r = cache.fetch(source(servers().http + "/status/" + status));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find(std::string("HTTP ") + status), std::string::npos)
        << r.error().describe();
  }
  expect_no_entry();
}

TEST_F(ImageCacheTest, RedirectsAreFollowedButNotInALoopOrDownToHttp) {
  EXPECT_TRUE(cache.fetch(source(servers().https + "/redirect/disk.raw")).ok());
  testing::TempDir other;
  ImageCache fresh(other.path());
  const auto loop = fresh.fetch(source(servers().https + "/loop"));
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message().find("redirects"), std::string::npos) << loop.error().describe();
  const auto down = fresh.fetch(source(servers().https + "/to-http/disk.raw"));
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.error().message().find("disallowed scheme"), std::string::npos)
      << down.error().describe();
  EXPECT_TRUE(fresh.list().empty());
}

TEST_F(ImageCacheTest, PlainHttpIsRefusedUnlessAllowed) {
  auto s = source(servers().http + "/ok/disk.raw");
  s.policy.allow_http = false;
  const auto r = cache.fetch(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("disallowed scheme"), std::string::npos)
      << r.error().describe();
}

TEST_F(ImageCacheTest, AStalledTransferTimesOutAndTheNextFetchResumes) {
  const auto started = std::chrono::steady_clock::now();
  const auto r = cache.fetch(source(servers().http + "/stall/disk.raw"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  expect_no_entry();
  const auto resumed = cache.fetch(source(servers().http + "/ok/disk.raw"));
  ASSERT_TRUE(resumed.ok()) << resumed.error().describe();
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(*read_file(resumed->entry.file), servers().image);
}

TEST_F(ImageCacheTest, ASlowDripBelowTheSpeedLimitIsAborted) {
  const auto r = cache.fetch(source(servers().http + "/drip/disk.raw"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().describe();
  expect_no_entry();
}

TEST_F(ImageCacheTest, AResetOrAShortBodyLeavesAResumablePartialDownload) {
  for (const char* mode : {"reset", "short"}) {
    testing::TempDir other;
    ImageCache fresh(other.path());
    const auto r = fresh.fetch(source(servers().http + "/" + mode + "/disk.raw"));
    ASSERT_FALSE(r.ok()) << mode;
    EXPECT_NE(r.error().message().find("ended early"), std::string::npos)
        << mode << ": " << r.error().describe();
    EXPECT_TRUE(fresh.list().empty());
    const auto resumed = fresh.fetch(source(servers().https + "/ok/disk.raw"));
    ASSERT_TRUE(resumed.ok()) << resumed.error().describe();
    EXPECT_TRUE(resumed->resumed) << mode;
    EXPECT_EQ(*read_file(resumed->entry.file), servers().image);
  }
}

TEST_F(ImageCacheTest, AServerThatIgnoresRangesIsDownloadedAgainWhole) {
  ASSERT_FALSE(cache.fetch(source(servers().http + "/short/disk.raw")).ok());
  const auto r = cache.fetch(source(servers().http + "/norange/disk.raw"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->resumed);
  EXPECT_EQ(*read_file(r->entry.file), servers().image);
}

TEST_F(ImageCacheTest, ChecksumManifestsInGnuAndBsdFormsAreHonoured) {
  const auto www = servers().dir / "www";
  const std::string sha512 = to_hex(digest(DigestAlgorithm::sha512, servers().image));
  ASSERT_TRUE(
      write_file_atomic(www / "SHA512SUMS", "0000  other.raw\n" + sha512 + "  disk.raw\n", 0644)
          .ok());
  ASSERT_TRUE(
      write_file_atomic(www / "BSDSUMS", "SHA512 (disk.raw) = " + sha512 + "\n", 0644).ok());
  for (const char* manifest : {"SHA512SUMS", "BSDSUMS"}) {
    testing::TempDir other;
    ImageCache fresh(other.path());
    auto s = source(servers().https + "/ok/disk.raw");
    s.digest.reset();
    s.checksum_url = servers().https + "/ok/" + manifest;
    const auto r = fresh.fetch(s);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->entry.digest.algorithm, DigestAlgorithm::sha512);
    EXPECT_EQ(r->entry.digest.hex, sha512);
  }
  auto missing = source(servers().https + "/ok/disk.raw");
  missing.digest.reset();
  missing.checksum_url = servers().https + "/status/404";
  const auto r = cache.fetch(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("checksum manifest"), std::string::npos)
      << r.error().describe();
}

TEST_F(ImageCacheTest, TwoFetchesOfOneImageAtOnceDownloadItOnce) {
  const std::string url = servers().http + "/slow/disk.raw";
  Result<FetchResult> a = Error(ErrorCode::internal, "not run"), b = a;
  std::thread first([&] { a = cache.fetch(source(url)); });
  std::thread second([&] { b = cache.fetch(source(url)); });
  first.join();
  second.join();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->downloaded, b->downloaded) << "exactly one of them downloads";
  const auto stats = run_command({"python3", "-c",
                                  "import urllib.request,sys; "
                                  "print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                                  servers().http + "/stats"});
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(boost::json::parse(stats->out).at("/slow/disk.raw").as_int64(), 1);
}

TEST_F(ImageCacheTest, LocalPathsAndFileUrlsAreSourcesToo) {
  const auto path = (servers().dir / "www" / "disk.raw").string();
  ASSERT_TRUE(cache.fetch(source(path)).ok());
  testing::TempDir other;
  ImageCache fresh(other.path());
  ASSERT_TRUE(fresh.fetch(source("file://" + path)).ok());
  testing::TempDir third;
  ImageCache empty(third.path());
  const auto missing = empty.fetch(source("/nonexistent/disk.raw"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("cannot read the file"), std::string::npos)
      << missing.error().describe();
}

TEST_F(ImageCacheTest, AnImageThatMatchesItsChecksumButIsUnsafeIsRefused) {
  const auto www = servers().dir / "www";
  ASSERT_TRUE(
      create_qcow2(www / "evil.qcow2", Qcow2Spec{1 << 20, 16, "/etc/shadow", DiskFormat::raw})
          .ok());
  ::chmod((www / "evil.qcow2").c_str(), 0644);
  auto s = source(servers().https + "/ok/evil.qcow2");
  s.name = "evil";
  s.format = DiskFormat::qcow2;
  s.digest = HexDigest{DigestAlgorithm::sha256, sha256_hex(*read_file(www / "evil.qcow2"))};
  const auto r = cache.fetch(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not safe as a base"), std::string::npos)
      << r.error().describe();
  EXPECT_NE(r.error().message().find("/etc/shadow"), std::string::npos);
  EXPECT_TRUE(cache.list().empty());
}

TEST_F(ImageCacheTest, ADiskFullDuringDownloadIsAnIoErrorWithARemedy) {
  testing::TmpfsMount small(512 * 1024);
  if (!small.mounted())
    GTEST_SKIP() << "cannot mount a small tmpfs: " << small.why();
  ImageCache tiny(small.path());
  const auto r = tiny.fetch(source(servers().http + "/ok/disk.raw"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::io);
  EXPECT_NE(r.error().message().find("No space left"), std::string::npos) << r.error().describe();
  EXPECT_NE(r.error().remedy().find("free space"), std::string::npos) << r.error().describe();
  EXPECT_TRUE(tiny.list().empty());
}

TEST_F(ImageCacheTest, VerifyNoticesABaseThatChangedOnDisk) {
  const auto r = cache.fetch(source(servers().http + "/ok/disk.raw"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(cache.verify(r->entry).ok);
  ::chmod(r->entry.file.c_str(), 0644);
  auto bytes = *read_file(r->entry.file);
  bytes[1000] = static_cast<char>(bytes[1000] ^ 1);
  ASSERT_TRUE(write_file_atomic(r->entry.file, bytes, 0444).ok());
  const auto v = cache.verify(r->entry);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.detail.find("does not match"), std::string::npos);
}

TEST_F(ImageCacheTest, ACachedBaseIsCheckedQuicklyOrInFullAndChangedBytesAreRefused) {
  auto s = source(servers().http + "/ok/disk.raw");
  const auto r = cache.fetch(s);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  auto again = cache.fetch(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->checked, "size, inode and mtime as when it was hashed");
  EXPECT_EQ(again->manifest, "pinned");
  s.check = CacheCheck::full;
  again = cache.fetch(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->checked, "hashed in full, as asked");

  // A new mtime: hashed in full once, then quick again.
  s.check = CacheCheck::quick;
  const auto file = r->entry.file;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  const timespec later[2] = {st.st_atim, {st.st_mtim.tv_sec + 60, st.st_mtim.tv_nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), later, 0), 0);
  again = cache.fetch(s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->checked, "hashed in full: its size, inode or mtime changed");
  EXPECT_EQ(cache.fetch(s)->checked, "size, inode and mtime as when it was hashed");

  // A byte changed in place with the size and mtime forged back: only the full hash sees it.
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  ::chmod(file.c_str(), 0644);
  {
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    const char flipped = static_cast<char>(servers().image[1000] ^ 1);
    ASSERT_EQ(::pwrite(fd.get(), &flipped, 1, 1000), 1);
  }
  ::chmod(file.c_str(), 0444);
  const timespec forged[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), forged, 0), 0);
  EXPECT_TRUE(cache.fetch(s).ok()) << "the quick check cannot see a forged edit in place";
  s.check = CacheCheck::full;
  const auto refused = cache.fetch(s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::image);
  EXPECT_NE(refused.error().message().find("no longer matches its digest"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().remedy().find("rm -f " + file.string()), std::string::npos);
  EXPECT_FALSE(cache.fetch(s).ok()) << "still refused: nothing was accepted on the way";
}

TEST_F(ImageCacheTest, AManifestIsFetchedAgainPerItsPolicyAndANewLatestGoesBesideTheOld) {
  const auto www = servers().dir / "www";
  const auto publish = [&](const std::string& bytes) {
    ASSERT_TRUE(write_file_atomic(www / "latest.raw", bytes, 0644).ok());
    ASSERT_TRUE(
        write_file_atomic(www / "LATEST-SUMS", sha256_hex(bytes) + "  latest.raw\n", 0644).ok());
  };
  const std::string v1 = servers().image, v2 = servers().image + "version 2";
  publish(v1);
  auto s = source(servers().http + "/ok/latest.raw");
  s.digest.reset();
  s.checksum_url = servers().http + "/ok/LATEST-SUMS";
  s.manifest_max_age = 24h;
  auto r = cache.fetch(s);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->manifest, "manifest fetched");
  publish(v2);
  r = cache.fetch(s); // within a day: the manifest as fetched before, so the old latest
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->manifest.rfind("manifest cached 0 h 0 min ago", 0), 0U) << r->manifest;
  EXPECT_EQ(r->entry.digest.hex, sha256_hex(v1));
  s.manifest_max_age = std::chrono::seconds::max();
  EXPECT_EQ(cache.fetch(s)->entry.digest.hex, sha256_hex(v1)) << "never: the cached manifest";
  s.manifest_max_age = 0s; // always
  r = cache.fetch(s);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->manifest, "manifest fetched");
  EXPECT_TRUE(r->downloaded);
  EXPECT_EQ(r->entry.digest.hex, sha256_hex(v2));
  EXPECT_EQ(*read_file(r->entry.file), v2);
  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), 2U) << "the new latest beside the old";
  s.manifest_max_age = 24h; // the manifest just fetched is the cached one now
  EXPECT_EQ(cache.fetch(s)->entry.digest.hex, sha256_hex(v2));

  // A torn copy of the manifest is not trusted: it is fetched again.
  const auto copy = std::find_if(
      std::filesystem::directory_iterator(root.path() / "disk"), {},
      [](const auto& f) { return f.path().filename().string().rfind(".manifest-", 0) == 0; });
  ASSERT_NE(copy, std::filesystem::directory_iterator());
  const auto copy_path = copy->path();
  testing::write_file(copy_path, "0123");
  r = cache.fetch(s);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->manifest, "manifest fetched");
  EXPECT_EQ(r->entry.digest.hex, sha256_hex(v2));
  EXPECT_EQ(*read_file(copy_path), sha256_hex(v2) + "  latest.raw\n") << "and kept again";
}

TEST_F(ImageCacheTest, PruneKeepsWhatOverlaysUseAndTheNewestOfEachName) {
  const auto www = servers().dir / "www";
  ASSERT_TRUE(write_file_atomic(www / "v2.raw", servers().image + "v2", 0644).ok());
  const auto v1 = cache.fetch(source(servers().http + "/ok/disk.raw"));
  auto s2 = source(servers().http + "/ok/v2.raw");
  s2.digest = HexDigest{DigestAlgorithm::sha256, sha256_hex(servers().image + "v2")};
  const auto v2 = cache.fetch(s2);
  ASSERT_TRUE(v1.ok() && v2.ok());
  ASSERT_EQ(cache.list().size(), 2U);

  auto dry = cache.prune({}, false, true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->removed.size(), 1U);
  EXPECT_EQ(cache.list().size(), 2U) << "a dry run removes nothing";

  const auto in_use =
      std::set<std::filesystem::path>{std::filesystem::weakly_canonical(v1->entry.file)};
  auto kept = cache.prune(in_use, true, false);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->kept_in_use.size(), 1U);
  ASSERT_EQ(cache.list().size(), 1U);
  EXPECT_EQ(cache.list()[0].file, v1->entry.file);
}

} // namespace
} // namespace kvmrun::images
