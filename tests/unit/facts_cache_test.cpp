// The host-facts cache: QEMU's version line is reused only while the binary is unchanged, and a
// cache file that is damaged, of another shape or writable by others is ignored, never obeyed.
#include "base/file_io.hpp"
#include "host/facts_cache.hpp"
#include "host/host_facts.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>

namespace kvmrun::host {
namespace {

using kvmrun::testing::TempDir;
using kvmrun::testing::write_file;
using kvmrun::testing::write_script;

// A host with a scripted QEMU that counts how often it is run.
struct CountingHost {
  TempDir dir;
  HostPaths paths;
  CountingHost() {
    paths.search_path = (dir / "bin").string();
    paths.dev_kvm = dir / "no-kvm";
    paths.sys_module = dir / "sys";
    paths.bios = {};
    paths.uefi = {};
    paths.facts_cache = dir / "cache" / "host-facts.json";
    qemu("8.2.1");
  }
  void qemu(const std::string& version) {
    write_script(dir / "bin" / "qemu-system-x86_64", "echo run >> '" + (dir / "runs").string() +
                                                         "'; echo 'QEMU emulator version " +
                                                         version + "'");
  }
  [[nodiscard]] std::size_t runs() const {
    const auto text = read_file(dir / "runs");
    return text ? static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n')) : 0;
  }
};

TEST(FactsCache, QemusVersionIsAskedOnceThenReusedUntilTheBinaryChanges) {
  CountingHost host;
  EXPECT_EQ(gather_host_facts(host.paths).qemu.version_line, "QEMU emulator version 8.2.1");
  EXPECT_EQ(gather_host_facts(host.paths).qemu.version_line, "QEMU emulator version 8.2.1");
  EXPECT_EQ(host.runs(), 1U) << "the second gathering ran QEMU again";
  host.qemu("9.0.0-new"); // another binary at the same path: size and mtime change
  EXPECT_EQ(gather_host_facts(host.paths).qemu.version_line, "QEMU emulator version 9.0.0-new");
  EXPECT_EQ(host.runs(), 2U);
  struct stat st {};
  ASSERT_EQ(::stat(host.paths.facts_cache.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);
}

TEST(FactsCache, ADamagedOrForeignShapedCacheIsIgnoredAndRewritten) {
  CountingHost host;
  (void)gather_host_facts(host.paths);
  const auto good = read_file(host.paths.facts_cache);
  ASSERT_TRUE(good.ok());
  std::size_t expected_runs = 1;
  for (const std::string& bad :
       {std::string(), std::string("{\"qemu\": "), std::string("[]"),
        std::string("{\"qemu\": {\"path\": 7}}"),
        good->substr(0, good->find("\"version_line\"")) + "\"version_line\": 5}}"}) {
    std::filesystem::remove(host.paths.facts_cache);
    write_file(host.paths.facts_cache, bad);
    ::chmod(host.paths.facts_cache.c_str(), 0600);
    EXPECT_EQ(gather_host_facts(host.paths).qemu.version_line, "QEMU emulator version 8.2.1")
        << bad;
    EXPECT_EQ(host.runs(), ++expected_runs) << "obeyed: " << bad;
  }
  EXPECT_EQ(*read_file(host.paths.facts_cache), *good) << "rewritten as it should be";
}

TEST(FactsCache, ACacheOthersCanWriteIsNotBelieved) {
  CountingHost host;
  (void)gather_host_facts(host.paths);
  // Someone edits it to claim another version, and it is writable by others.
  auto text = *read_file(host.paths.facts_cache);
  text.replace(text.find("8.2.1"), 5, "99.9.9");
  std::filesystem::remove(host.paths.facts_cache);
  write_file(host.paths.facts_cache, text);
  ::chmod(host.paths.facts_cache.c_str(), 0666);
  EXPECT_EQ(gather_host_facts(host.paths).qemu.version_line, "QEMU emulator version 8.2.1");
  EXPECT_EQ(host.runs(), 2U);
}

TEST(FactsCache, KvmProbeResultsAreKeyedByBootIdDeviceAndModules) {
  TempDir dir;
  const auto file = dir / "facts.json";
  const KvmKey key{"7d49afa3-d3e3-4d69-bc40-fb9594a135e4", 2792, {"kvm", "kvm_pvm"}};
  {
    FactsCache cache(file);
    cache.remember(key, KvmProbeResult{true, "ran", std::chrono::microseconds(1400)});
    cache.save();
  }
  const FactsCache cache(file);
  ASSERT_TRUE(cache.kvm_probe(key).has_value());
  EXPECT_TRUE(cache.kvm_probe(key)->ran_guest);
  auto rebooted = key;
  rebooted.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(cache.kvm_probe(rebooted).has_value());
  auto reloaded = key;
  reloaded.modules = {"kvm", "kvm_intel"};
  EXPECT_FALSE(cache.kvm_probe(reloaded).has_value());
  auto other_device = key;
  other_device.rdev = 1;
  EXPECT_FALSE(cache.kvm_probe(other_device).has_value());
  EXPECT_FALSE(FactsCache("").kvm_probe(key).has_value()) << "no file: no cache";
}

} // namespace
} // namespace kvmrun::host
