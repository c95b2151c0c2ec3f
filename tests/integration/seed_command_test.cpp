// `kvmrun seed` on every example lab, checked with the real tools: isoinfo and xorriso see a
// cidata volume with the exact names, PyYAML reads the documents, the file is 0600, and two runs
// give identical bytes.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "lab/loader.hpp"
#include "tests/support/kvmrun_binary.hpp"
#include "tests/support/pyyaml.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace kvmrun {
namespace {

struct Seeded {
  std::filesystem::path iso;
  std::string stdout_text;
};

std::vector<std::pair<std::filesystem::path, std::string>> example_instances() {
  std::vector<std::pair<std::filesystem::path, std::string>> out;
  for (const auto& entry : std::filesystem::directory_iterator(KVMRUN_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".toml")
      continue;
    auto lab = lab::load_lab(entry.path());
    EXPECT_TRUE(lab.ok()) << entry.path();
    if (lab.ok())
      for (const auto& inst : lab->instances)
        out.emplace_back(entry.path(), inst.name);
  }
  return out;
}

TEST(SeedCommand, EveryExampleInstanceGetsAValidReproducibleCidataIso) {
  for (const char* tool : {"xorriso", "isoinfo"})
    if (!find_executable(tool))
      GTEST_SKIP() << tool << " is not installed";
  const bool have_yaml = testing::python_with_yaml().has_value();
  const auto instances = example_instances();
  ASSERT_GE(instances.size(), 5U);
  for (const auto& [config, name] : instances) {
    SCOPED_TRACE(config.filename().string() + " " + name);
    testing::TempDir dir;
    const auto first = dir / "first.iso";
    const auto second = dir / "second.iso";
    for (const auto& path : {first, second}) {
      const auto r =
          testing::run_kvmrun({"seed", name, "--config", config.string(), "-o", path.string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.out.find("instance-id " + name + "-"), std::string::npos) << r.out;
    }
    struct stat st {};
    ASSERT_EQ(::stat(first.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777U, 0600U);
    EXPECT_EQ(*read_file(first), *read_file(second)) << "two runs differ";

    const auto info = run_command({"isoinfo", "-d", "-i", first.string()});
    ASSERT_TRUE(info.ok());
    EXPECT_NE(info->out.find("Volume id: cidata"), std::string::npos);
    const auto listing = run_command({"isoinfo", "-J", "-f", "-i", first.string()});
    ASSERT_TRUE(listing.ok());
    EXPECT_EQ(listing->out, "/meta-data\n/network-config\n/user-data\n");

    run_command({"xorriso", "-osirrox", "on", "-indev", first.string(), "-extract", "/",
                 (dir / "x").string()})
        .value();
    const auto user_data = read_file(dir / "x" / "user-data");
    ASSERT_TRUE(user_data.ok());
    EXPECT_EQ(user_data->rfind("#cloud-config\n", 0), 0U);
    if (have_yaml) {
      for (const char* doc : {"user-data", "meta-data", "network-config"}) {
        const auto parsed = testing::pyyaml_load(*read_file(dir / "x" / doc));
        ASSERT_TRUE(parsed.ok()) << doc << ": " << parsed.error().describe();
        EXPECT_TRUE(parsed->is_object()) << doc;
      }
      const auto meta = testing::pyyaml_load(*read_file(dir / "x" / "meta-data"));
      EXPECT_EQ(meta->at("local-hostname").as_string(), name);
    }
  }
}

TEST(SeedCommand, PrintShowsTheThreeDocumentsWithoutWritingAFile) {
  const auto r = testing::run_kvmrun(
      {"seed", "node-1", "--config", KVMRUN_SOURCE_DIR "/configs/cluster.toml", "--print"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("# meta-data\ninstance-id: node-1-"), std::string::npos);
  EXPECT_NE(r.out.find("# user-data\n#cloud-config\n"), std::string::npos);
  EXPECT_NE(r.out.find("# network-config\nversion: 2\n"), std::string::npos);
}

TEST(SeedCommand, AnUnknownInstanceIsAConfigErrorListingTheInstances) {
  const auto r =
      testing::run_kvmrun({"seed", "node-9", "--config", KVMRUN_SOURCE_DIR "/configs/cluster.toml",
                           "-o", "/tmp/never-written.iso"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "kvmrun: error: no instance 'node-9' in " KVMRUN_SOURCE_DIR
                   "/configs/cluster.toml. Remedy: the lab's instances are: node-1, node-2, "
                   "node-3\n");
  EXPECT_FALSE(std::filesystem::exists("/tmp/never-written.iso"));
}

TEST(SeedCommand, AnInvalidLabExitsWithTheConfigCodeAndWritesNothing) {
  testing::TempDir dir;
  testing::write_file(dir / "lab.toml", "[instances.web]\ncpus = 0\n");
  const auto r = testing::run_kvmrun(
      {"seed", "web", "--config", (dir / "lab.toml").string(), "-o", (dir / "web.iso").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("lab.toml:2:8: instances.web.cpus: must be from 1 to 64"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "web.iso"));
}

TEST(SeedCommand, WithoutConfigItReadsKvmrunTomlInTheWorkingDirectory) {
  testing::TempDir dir;
  std::filesystem::copy_file(KVMRUN_SOURCE_DIR "/configs/single.toml", dir / "kvmrun.toml");
  const auto r = run_command({"sh", "-c", "cd \"$1\" && \"$2\" seed dev -o dev.iso", "sh",
                              dir.path().string(), KVMRUN_BINARY});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_TRUE(std::filesystem::exists(dir / "dev.iso"));
  const auto none =
      run_command({"sh", "-c", "cd /tmp && \"$1\" seed dev -o x.iso", "sh", KVMRUN_BINARY});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->exit_code, 3);
  EXPECT_NE(none->err.find("no instance 'dev' in <built-in default lab>"), std::string::npos)
      << none->err;
}

TEST(SeedCommand, AnUnwritableOutputIsAnIoErrorAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  const auto r =
      testing::run_kvmrun({"seed", "dev", "--config", KVMRUN_SOURCE_DIR "/configs/single.toml",
                           "-o", (dir / "missing-dir" / "dev.iso").string()});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_NE(r.err.find("while writing the seed ISO of dev"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

} // namespace
} // namespace kvmrun
