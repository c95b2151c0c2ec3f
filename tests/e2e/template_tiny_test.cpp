// Templates and clones end to end with the tiny guest under TCG: a ready guest (with a web
// server running in it) saved once, two clones restored from it at once, each with its own
// hostname, instance-id, forwards and disk; the template untouched by them; the refusals.
#include "base/digest.hpp"
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <sys/stat.h>

#include <chrono>
#include <map>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::string clone_lab(const std::string& name) {
  return "[lab]\nname = \"" + name + "\"\n" + tiny_image_section() + R"([defaults]
image = "tiny"
cpus = 1
memory = "256MiB"
disks = [{ name = "data", size = "64MiB", mount = "/srv/data" }]
timeouts = { shutdown = "3s", network = "60s" }
[defaults.cloud_init]
runcmd = ["httpd -p 8080 -h /srv/data"]
[instances.base]
[instances.clone-1]
template = "tiny-ready"
forwards = [{ host = 18101, guest = 8080 }]
on_clone = ["echo renewed-by-on-clone > /run/on-clone"]
[instances.clone-2]
template = "tiny-ready"
forwards = [{ host = 18102, guest = 8080 }]
[instances.bigger]
template = "tiny-ready"
memory = "512MiB"
)";
}

// sha256 of every file of a template, by name.
std::map<std::string, std::string> digests(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out[e.path().filename().string()] = sha256_hex(*read_file(e.path(), 1U << 30U));
  return out;
}

std::string provenance_field(const Lab& lab, const std::string& instance, const char* key) {
  const auto text = read_file(lab.state() / "clones" / instance / "provenance.json", 1U << 20U);
  if (!text)
    return {};
  const auto doc = boost::json::parse(*text).as_object();
  const auto* v = doc.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

TEST(TinyTemplate, TwoClonesAtOnceAreReadyWithTheirOwnIdentityAndLeaveTheTemplateAlone) {
  Lab lab(clone_lab("clones"));
  ASSERT_EQ(lab.run({"up", "base"}).exit_code, 0);
  in_guest(lab, "base", "echo from-base > /srv/data/index.html && sync");

  auto r = lab.run({"template", "save", "base", "tiny-ready"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("template tiny-ready saved from base"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("base is stopped"), std::string::npos) << r.out;
  EXPECT_NE(lab.run({"status", "base"}).out.find("stopped"), std::string::npos);
  const auto dir = lab.cache() / "templates" / "tiny-ready";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0444U) << e.path();
  }
  const auto saved = digests(dir);
  EXPECT_EQ(saved.size(), 4U); // template.json, state, disk.qcow2, disk-data.qcow2
  r = lab.run({"template", "list"});
  EXPECT_NE(r.out.find("tiny-ready  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from clones/base (tiny), 1 CPU, 256 MiB, tcg"), std::string::npos);
  r = lab.run({"template", "save", "base", "tiny-ready"});
  EXPECT_EQ(r.exit_code, 3) << "taken name, and base is stopped";

  // Both clones at once: restored, every gate passed, their own forwards serve the web server
  // that was running in the template.
  r = lab.run({"up", "clone-1", "clone-2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto* name : {"clone-1", "clone-2"}) {
    EXPECT_NE(r.out.find(std::string(name) + ": a clone of tiny-ready"), std::string::npos);
    EXPECT_EQ(in_guest(lab, name, "hostname"), std::string(name) + "\n");
    EXPECT_EQ(provenance_field(lab, name, "template"), "tiny-ready");
  }
  EXPECT_NE(r.out.find("restored from template tiny-ready"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("clock set, hostname clone-1, 1 on_clone command(s)"), std::string::npos);
  EXPECT_NE(r.out.find("127.0.0.1:18101 -> 8080"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ready: clone-1 clone-2"), std::string::npos);
  // A template is saved from a booted instance, never from a clone or a stopped one.
  r = lab.run({"template", "save", "clone-1", "second"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("is itself a clone of template 'tiny-ready'"), std::string::npos) << r.err;
  r = lab.run({"template", "save", "base", "second"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("instance 'base' is not running"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(lab.cache() / "templates" / "second"));
  EXPECT_NE(provenance_field(lab, "clone-1", "instance_id"),
            provenance_field(lab, "clone-2", "instance_id"));
  EXPECT_EQ(in_guest(lab, "clone-1", "cat /run/on-clone"), "renewed-by-on-clone\n");
  // The vmgenid changed under the restored kernel, which reseeded its random generator.
  EXPECT_NE(in_guest(lab, "clone-2", "dmesg").find("crng reseeded due to virtual machine fork"),
            std::string::npos);
  EXPECT_EQ(http_get(18101, "/index.html"), "from-base\n");
  EXPECT_EQ(http_get(18102, "/index.html"), "from-base\n");

  // The clock is the host's, not the template's (which stopped when it was saved).
  const auto guest_now = std::stoll(in_guest(lab, "clone-2", "date +%s"));
  const auto host_now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  EXPECT_LE(std::llabs(guest_now - host_now), 2);

  // Each clone's writes are its own.
  in_guest(lab, "clone-1", "echo clone-1-only > /srv/data/mine && sync");
  EXPECT_EQ(http_get(18101, "/mine"), "clone-1-only\n");
  EXPECT_EQ(http_get(18102, "/mine"), "") << "clone-2 must not see clone-1's file";
  r = lab.run({"check", "clone-1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("booted in template tiny-ready"), std::string::npos) << r.out;

  // A clone brought down keeps its disk and boots from it next time (a restore over a disk that
  // has moved on would corrupt it): nothing it wrote is lost.
  ASSERT_EQ(lab.run({"down", "clone-1"}).exit_code, 0);
  r = lab.run({"up", "clone-1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("whose disk exists from an earlier run: it boots from that disk"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(in_guest(lab, "clone-1", "cat /srv/data/mine"), "clone-1-only\n");

  // The template refuses deletion while clone disks sit on it; purging them leaves it intact.
  r = lab.run({"template", "delete", "tiny-ready"});
  EXPECT_EQ(r.exit_code, 12);
  EXPECT_NE(r.err.find("clone-1/disk.qcow2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kvmrun down --purge-disks"), std::string::npos) << r.err;
  ASSERT_EQ(lab.run({"down", "--purge-disks", "clone-1", "clone-2"}).exit_code, 0);
  EXPECT_EQ(digests(dir), saved) << "the clones changed the template's files";
  // A purged clone is a fresh clone again: restored, without what it wrote before.
  r = lab.run({"up", "clone-1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("restored from template tiny-ready"), std::string::npos) << r.out;
  EXPECT_EQ(in_guest(lab, "clone-1", "ls /srv/data/mine 2>/dev/null; echo end"), "end\n");
  ASSERT_EQ(lab.run({"down", "--purge-disks", "clone-1"}).exit_code, 0);

  // Image prune keeps the base the template sits on.
  r = lab.run({"image", "prune", "--all", "--dry-run"});
  EXPECT_NE(r.out.find("kept (in use) tiny"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("would remove tiny"), std::string::npos) << r.out;

  r = lab.run({"template", "delete", "tiny-ready"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_NE(lab.run({"template", "list"}).out.find("no templates"), std::string::npos);
  (void)lab.run({"down"});
}

TEST(TinyTemplate, ClonesThatCannotMatchTheirTemplateAreRefusedBeforeQemuStarts) {
  Lab lab(clone_lab("refuse"));
  auto r = lab.run({"up", "clone-1"});
  EXPECT_EQ(r.exit_code, 3) << "no such template yet";
  EXPECT_NE(r.err.find("no template 'tiny-ready'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kvmrun template save INSTANCE tiny-ready"), std::string::npos);

  ASSERT_EQ(lab.run({"up", "base"}).exit_code, 0);
  r = lab.run({"template", "save", "base", "Not-A-Name"});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(lab.run({"template", "save", "base", "tiny-ready", "--resume"}).exit_code, 0);
  EXPECT_NE(lab.run({"status", "base"}).out.find("running"), std::string::npos)
      << "--resume keeps it running";
  in_guest(lab, "base", "true");
  ASSERT_EQ(lab.run({"down", "base"}).exit_code, 0);

  // Another memory size than the template's: refused, nothing started or made.
  r = lab.run({"up", "bigger"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("256 MiB of memory, the instance 512 MiB"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "refuse" / "bigger" / "disk.qcow2"));
  // Another accelerator than the template's (saved under TCG).
  if (std::filesystem::exists("/dev/kvm")) {
    r = lab.run({"up", "clone-2", "--accel", "kvm"});
    if (r.err.find("preflight failed") == std::string::npos) {
      EXPECT_EQ(r.exit_code, 4) << r.err;
      EXPECT_NE(r.err.find("saved under tcg"), std::string::npos) << r.err;
    }
  }

  // A state file that no longer matches its digest.
  const auto state = lab.cache() / "templates" / "tiny-ready" / "state";
  std::filesystem::permissions(state, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::FILE* f = std::fopen(state.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 4096, SEEK_SET);
    std::fputc('X', f);
    std::fclose(f);
  }
  r = lab.run({"up", "clone-2"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.err.find(state.string() + " has sha256"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("template delete tiny-ready"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "refuse" / "clone-2" / "disk.qcow2"));

  // --from-template makes any instance a clone; a template's own record damaged is an error.
  std::filesystem::permissions(lab.cache() / "templates" / "tiny-ready" / "template.json",
                               std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  write_file(lab.cache() / "templates" / "tiny-ready" / "template.json", "{\"kind\":");
  r = lab.run({"up", "base", "--from-template", "tiny-ready"});
  EXPECT_EQ(r.exit_code, 10) << r.err;
  EXPECT_NE(r.err.find("template.json"), std::string::npos) << r.err;
  (void)lab.run({"down"});
}

} // namespace
} // namespace kvmrun::testing
