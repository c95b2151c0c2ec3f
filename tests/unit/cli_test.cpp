// The command line as users meet it: whole outputs compared, help against its golden file.
#include "base/file_io.hpp"
#include "cli/cli.hpp"
#include "cli/lab_source.hpp"
#include "lab/loader.hpp"
#include "tests/support/cli_in_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace kvmrun::cli {
namespace {

testing::CliRun run(const std::vector<std::string>& args) {
  return testing::run_cli_in_process(args, {}, 1000, "/");
}

std::string golden(const std::string& name) {
  auto text = read_file(std::filesystem::path(KVMRUN_SOURCE_DIR) / "tests" / "golden" / name);
  EXPECT_TRUE(text.ok()) << text.error().describe();
  return text.ok() ? *text : std::string();
}

TEST(LabSource, ABuiltInImagePrefersItsRecipesLocalBuildAndElseSaysHowToMakeOne) {
  testing::TempDir cache;
  auto lab = lab::parse_lab("[instances.web]\nimage = \"debian-13\"\n", "lab.toml").value();
  resolve_builtin_images(lab, cache.path());
  const auto& official = lab.images.at("debian-13");
  EXPECT_EQ(official.url.rfind("https://cloud.debian.org/", 0), 0U);
  EXPECT_EQ(official.origin, "Debian's official cloud image");
  EXPECT_EQ(official.missing_remedy,
            "without internet access, build the same guest from Debian packages: "
            "images/recipes/debian-13/build " +
                cache.path().string() + " (as root; scripts/run does it for debian-12)");

  testing::write_file(cache / "guests" / "debian-13" / "SHA512SUMS", "x  debian-13.qcow2\n");
  lab = lab::parse_lab("[instances.web]\nimage = \"debian-13\"\n", "lab.toml").value();
  resolve_builtin_images(lab, cache.path());
  const auto& local = lab.images.at("debian-13");
  EXPECT_EQ(local.url, "file://" + (cache / "guests" / "debian-13" / "debian-13.qcow2").string());
  EXPECT_EQ(local.checksum_url,
            "file://" + (cache / "guests" / "debian-13" / "SHA512SUMS").string());
  EXPECT_NE(local.origin.find("the local build of images/recipes/debian-13/build"),
            std::string::npos);
  EXPECT_FALSE(lab.instances[0].seed.rename_nics) << "the debian-13 recipe keeps the guest's names";
  // The debian-12 recipe's build renames (its cloud-init renders with networkd), the official
  // image does not.
  auto d12 = lab::parse_lab("[instances.web]\nimage = \"debian-12\"\n", "lab.toml").value();
  resolve_builtin_images(d12, cache.path());
  EXPECT_FALSE(d12.instances[0].seed.rename_nics);
  testing::write_file(cache / "guests" / "debian-12" / "SHA512SUMS", "x  debian-12.qcow2\n");
  d12 = lab::parse_lab("[instances.web]\nimage = \"debian-12\"\n", "lab.toml").value();
  resolve_builtin_images(d12, cache.path());
  EXPECT_EQ(d12.images.at("debian-12").interface_names, lab::InterfaceNames::kvmrun);
  EXPECT_TRUE(d12.instances[0].seed.rename_nics);

  // A lab's own [images.debian-13] with a url is left alone.
  lab = lab::parse_lab("[images.debian-13]\nurl = \"https://m.example/x.qcow2\"\nchecksum_url = "
                       "\"https://m.example/S\"\n[instances.web]\nimage = \"debian-13\"\n",
                       "lab.toml")
            .value();
  resolve_builtin_images(lab, cache.path());
  EXPECT_EQ(lab.images.at("debian-13").url, "https://m.example/x.qcow2");
  EXPECT_TRUE(lab.images.at("debian-13").origin.empty());
}

TEST(Cli, HelpGoesToStdoutAndIsExactlyTheGoldenText) {
  for (const auto& args : {std::vector<std::string>{"help"}, {"--help"}, {"up", "--help"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out, golden("help.txt")) << args.front();
    EXPECT_EQ(r.err, "");
  }
}

TEST(Cli, WithoutACommandPrintsTheUsageToStderrAndExitsWithTheUsageCode) {
  const auto r = run({});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, golden("help.txt"));
}

TEST(Cli, VersionListsKvmrunThenEveryLinkedLibraryOnALineOfItsOwn) {
  for (const auto& args : {std::vector<std::string>{"--version"}, {"version"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(std::regex_match(r.out, std::regex("kvmrun [0-9]+\\.[0-9]+\\.[0-9]+\n"
                                                   "  libcurl [^\n]+\n"
                                                   "  OpenSSL [^\n]+\n"
                                                   "  Boost 1\\.81\\.[0-9]+\n"
                                                   "  toml\\+\\+ [0-9.]+\n"
                                                   "  zlib [0-9.]+\n")))
        << r.out;
  }
}

struct UsageCase {
  std::vector<std::string> args;
  std::string err;
};

TEST(Cli, UpRefusesJsonWithACommandWhoseOutputWouldRunIntoTheEvents) {
  const auto r = run({"up", "--json", "--", "make", "check"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "kvmrun: error: --json and a command after -- exclude each other: the "
                   "command's output would run into the event stream. Remedy: drop --json and "
                   "follow the run with `kvmrun events --follow`\n");
  EXPECT_NE(r.out.find(R"("event":"result")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("exit_code":2)"), std::string::npos) << r.out;
}

TEST(Cli, UsageMistakesAreOneLineWithTheUsageCode) {
  const std::vector<UsageCase> cases{
      {{"launch"}, "kvmrun: error: unknown command 'launch'. Remedy: see 'kvmrun help'\n"},
      {{"preflight", "--jsn"},
       "kvmrun: error: unknown option '--jsn'. Remedy: see 'kvmrun help' for the options of each "
       "command\n"},
      {{"preflight", "--accel", "hvf"},
       "kvmrun: error: unknown accelerator 'hvf'. Remedy: use auto, kvm or tcg\n"},
      {{"preflight", "--accel"}, "kvmrun: error: option '--accel' needs a value\n"},
      {{"preflight", "--json=yes"}, "kvmrun: error: option '--json' takes no value\n"},
      {{"preflight", "extra"}, "kvmrun: error: preflight takes no arguments, got 'extra'\n"},
      {{"seed"},
       "kvmrun: error: seed takes one instance name. Remedy: kvmrun seed INSTANCE -o FILE.iso\n"},
      {{"seed", "a", "b", "-o", "x"},
       "kvmrun: error: seed takes one instance name. Remedy: kvmrun seed INSTANCE -o FILE.iso\n"},
      {{"seed", "a"}, "kvmrun: error: seed needs -o FILE.iso (or --print)\n"},
      {{"seed", "a", "-o", "x", "--accel", "kvm"},
       "kvmrun: error: 'seed' does not take --accel. Remedy: see 'kvmrun help'\n"},
      {{"version", "--json"},
       "kvmrun: error: 'version' does not take --json. Remedy: see 'kvmrun help'\n"},
      {{"disk", "info"},
       "kvmrun: error: usage: kvmrun disk overlay BASE OUT | disk create OUT SIZE | disk info "
       "FILE\n"},
      {{"disk", "create", "x.qcow2", "ten"},
       "kvmrun: error: 'ten' is not a size. Remedy: write it like 10GiB\n"},
      {{"up", "--stage", "boot"},
       "kvmrun: error: unknown stage 'boot'. Remedy: use preflight, image-cache, provision, "
       "runtime or full\n"},
      {{"up", "--dry-run", "--", "true"},
       "kvmrun: error: --dry-run and --attach exclude each other\n"},
      {{"up", "--stage", "provision", "--", "make", "check"},
       "kvmrun: error: a command after -- runs once the instances are ready, which stage "
       "provision does not bring them to. Remedy: use --stage full (the default) or runtime\n"},
  };
  for (const auto& c : cases) {
    const auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args.front();
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
}

} // namespace
} // namespace kvmrun::cli
