// The lifecycle commands' error paths, in-process against a real state tree: each names the
// object, the cause and a remedy, exits with its class's code, and changes nothing it should not.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "cli/cli.hpp"
#include "images/qcow2.hpp"
#include "instance/lock.hpp"
#include "instance/paths.hpp"
#include "instance/qemu_process.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/cli_in_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kvmrun::cli {
namespace {

// A lab over a small local qcow2 base (pinned by its digest), with every kvmrun directory in
// a temporary tree.
class LabTree {
public:
  LabTree() {
    m_env = {{"KVMRUN_CACHE_DIR", (m_dir / "cache").string()},
             {"KVMRUN_STATE_DIR", (m_dir / "state").string()},
             {"KVMRUN_RUNTIME_DIR", (m_dir / "run").string()},
             {"PATH", "/usr/bin:/bin"}};
    write_lab("base-a.qcow2", 1U << 20U);
  }

  // (Re)writes lab.toml over a base image file of `size` bytes.
  void write_lab(const std::string& base_name, std::uint64_t size) {
    const auto base = m_dir / base_name;
    images::Qcow2Spec spec;
    spec.virtual_size = size;
    std::filesystem::remove(base);
    EXPECT_TRUE(images::create_qcow2(base, spec).ok());
    const auto bytes = read_file(base, 1U << 24U);
    testing::write_file(m_dir / "lab.toml", "[lab]\nname = \"errs\"\n[images.base]\nurl = \"" +
                                                base.string() +
                                                "\"\nchecksum = \"sha256:" + sha256_hex(*bytes) +
                                                "\"\n[instances.web]\nimage = \"base\"\n");
  }

  void set_env(const std::string& name, const std::string& value) { m_env[name] = value; }
  // More lines for lab.toml (after [instances.web], so they are the instance's).
  void append_to_lab(const std::string& lines) {
    testing::write_file(m_dir / "lab.toml", *read_file(m_dir / "lab.toml") + lines);
  }
  [[nodiscard]] std::filesystem::path dir() const { return m_dir.path(); }
  [[nodiscard]] std::filesystem::path state() const { return m_dir / "state"; }
  [[nodiscard]] instance::InstancePaths paths() const {
    return instance::InstancePaths{m_dir / "state" / "errs" / "web",
                                   m_env.at("KVMRUN_RUNTIME_DIR") + std::string("/errs/web")};
  }

  testing::CliRun run(std::vector<std::string> args) {
    args.insert(args.begin(), "--config=" + (m_dir / "lab.toml").string());
    return testing::run_cli_in_process(args, m_env, 0, m_dir.path());
  }

private:
  testing::TempDir m_dir;
  std::map<std::string, std::string> m_env;
};

TEST(LifecycleErrors, UsageMistakesAreUsageErrorsThatSayWhatIsAccepted) {
  LabTree lab;
  const auto stage = lab.run({"up", "--stage", "boot"});
  EXPECT_EQ(stage.code, 2);
  EXPECT_NE(stage.err.find("unknown stage 'boot'"), std::string::npos);
  EXPECT_NE(stage.err.find("preflight, image-cache, provision, runtime or full"),
            std::string::npos);
  EXPECT_EQ(lab.run({"up", "--dry-run", "--attach"}).code, 2);
  EXPECT_EQ(lab.run({"up", "--accel", "hvf"}).code, 2);
  const auto no_cmd = lab.run({"exec", "web"});
  EXPECT_EQ(no_cmd.code, 2);
  EXPECT_NE(no_cmd.err.find("needs a command after --"), std::string::npos);
  EXPECT_EQ(lab.run({"exec", "web", "--timeout", "soon", "--", "true"}).code, 2);
  EXPECT_EQ(lab.run({"snapshot", "rollback", "web", "s1"}).code, 2);
  const auto tag = lab.run({"snapshot", "create", "web", "../x"});
  EXPECT_EQ(tag.code, 2);
  EXPECT_NE(tag.err.find("not a plain name"), std::string::npos);
  EXPECT_EQ(lab.run({"snapshot", "create", "web"}).code, 2);
  EXPECT_FALSE(std::filesystem::exists(lab.paths().state));
}

TEST(LifecycleErrors, AnUnknownInstanceIsAConfigErrorListingTheLabsInstances) {
  LabTree lab;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"up", "db"}, {"status", "db"}, {"down", "db"}, {"exec", "db", "--", "true"}}) {
    const auto r = lab.run(args);
    EXPECT_EQ(r.code, 3) << args.front();
    EXPECT_NE(r.err.find("no instance 'db'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("the lab's instances are: web"), std::string::npos) << r.err;
  }
}

TEST(LifecycleErrors, CommandsOnAStoppedInstanceSayItIsNotRunning) {
  LabTree lab;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"exec", "web", "--", "true"}, {"snapshot", "list", "web"}, {"check"}}) {
    const auto r = lab.run(args);
    EXPECT_EQ(r.code, 7) << args.front();
    EXPECT_NE(r.err.find("instance 'web' is not running"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("kvmrun up web"), std::string::npos) << r.err;
  }
  const auto status = lab.run({"status"});
  EXPECT_EQ(status.code, 0);
  EXPECT_NE(status.out.find("web  not provisioned"), std::string::npos) << status.out;
  const auto down = lab.run({"down"});
  EXPECT_EQ(down.code, 0);
  EXPECT_NE(down.out.find("web: not running"), std::string::npos);
  const auto console = lab.run({"console", "web"});
  EXPECT_EQ(console.code, 10);
  EXPECT_NE(console.err.find("has no serial log"), std::string::npos);
  const auto report = lab.run({"report"});
  EXPECT_EQ(report.code, 10);
  EXPECT_NE(report.err.find("no summary.json"), std::string::npos);
}

TEST(LifecycleErrors, SocketPathsTooLongForUnixSocketsAreRefusedBeforeAnythingIsCreated) {
  LabTree lab;
  lab.set_env("KVMRUN_RUNTIME_DIR", "/tmp/" + std::string(120, 'r'));
  const auto r = lab.run({"up"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("instance 'web': socket path"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("KVMRUN_RUNTIME_DIR"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(lab.paths().state));
}

TEST(LifecycleErrors, StagesThatNeedAnEarlierOneSayWhichToRunFirst) {
  LabTree lab;
  const auto provision = lab.run({"up", "--stage", "provision"});
  EXPECT_EQ(provision.code, 5);
  EXPECT_NE(provision.err.find("image 'base' is not in the cache"), std::string::npos)
      << provision.err;
  EXPECT_NE(provision.err.find("--stage image-cache"), std::string::npos);
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  const auto runtime = lab.run({"up", "--stage", "runtime"});
  EXPECT_EQ(runtime.code, 6);
  EXPECT_NE(runtime.err.find("instance 'web' is not provisioned"), std::string::npos)
      << runtime.err;
  EXPECT_NE(runtime.err.find("--stage provision"), std::string::npos);
}

TEST(LifecycleErrors, AnInstanceDiskOverAnotherBaseIsKeptAndRefusedWithTheWayOut) {
  LabTree lab;
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  const auto first = lab.run({"up", "--stage", "provision"});
  ASSERT_EQ(first.code, 0) << first.err;
  const auto disk = read_file(lab.paths().disk(), 1U << 24U);
  ASSERT_TRUE(disk.ok());

  lab.write_lab("base-b.qcow2", 2U << 20U); // the lab's image changed
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  const auto again = lab.run({"up", "--stage", "provision"});
  EXPECT_EQ(again.code, 6);
  EXPECT_NE(again.err.find("not of the lab's base image"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("kvmrun down --purge-disks web"), std::string::npos);
  EXPECT_EQ(*read_file(lab.paths().disk(), 1U << 24U), *disk); // untouched
}

// A lock held by something that is neither the instance's QEMU nor a kvmrun bringing it up:
// `up` refuses (busy) and makes nothing (before, it said "already running" and exited 0).
TEST(LifecycleErrors, AnInstanceWhoseLockIsHeldIsLeftAlone) {
  LabTree lab;
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  auto held = instance::InstanceLock::acquire(lab.paths(), "web");
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held->record_pid(4242).ok());
  EXPECT_TRUE(instance::probe_lock(lab.paths()).held);
  EXPECT_EQ(instance::probe_lock(lab.paths()).pid, 4242);
  const auto r = lab.run({"up", "--stage", "provision"});
  EXPECT_EQ(r.code, 12) << r.out << r.err;
  EXPECT_NE(r.err.find("instance 'web': its lock is held by something kvmrun cannot match to "
                       "the instance's QEMU (the lock records pid 4242"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(lab.paths().disk()));
  const auto second = instance::InstanceLock::acquire(lab.paths(), "web");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::busy);
  EXPECT_NE(second.error().message().find("its lock is held, by pid 4242"), std::string::npos)
      << second.error().message();
}

// Two kvmruns cleaning up after one QEMU (`down`, and the `up` whose gate saw it exit) each hold
// the lock only while removing its files: the second waits for the first, then finds the work
// done (before: `down` failed with exit 12, "its lock is held"). A holder that stays is still
// refused, once the wait is over, with nothing removed.
TEST(LifecycleErrors, CleanupWaitsForAnotherCleanupOfTheSameInstance) {
  LabTree lab;
  const auto paths = lab.paths();
  auto held = instance::InstanceLock::acquire(paths, "web");
  ASSERT_TRUE(held.ok()) << held.error().describe();
  testing::write_file(paths.qmp_socket(), "");
  std::thread other([&paths, lock = std::move(held).value()]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(instance::remove_runtime_files(paths, "web", std::move(lock)).ok());
  });
  const auto removed = instance::remove_runtime_files(paths, "web");
  other.join();
  EXPECT_TRUE(removed.ok()) << removed.error().describe();
  EXPECT_FALSE(std::filesystem::exists(paths.runtime));

  auto stays = instance::InstanceLock::acquire(paths, "web");
  ASSERT_TRUE(stays.ok());
  testing::write_file(paths.qmp_socket(), "");
  const auto started = std::chrono::steady_clock::now();
  const auto refused = instance::remove_runtime_files(paths, "web");
  EXPECT_GE(std::chrono::steady_clock::now() - started, instance::cleanup_wait);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::busy);
  EXPECT_NE(refused.error().describe().find("cleaning up after instance web"), std::string::npos)
      << refused.error().describe();
  EXPECT_TRUE(std::filesystem::exists(paths.qmp_socket()));
  EXPECT_TRUE(std::filesystem::exists(paths.lock()));
}

// Another kvmrun bringing the instance up (a real kvmrun process named by up.pid, the lock held
// for it): `up` waits for it, within the sum of the instance's gate timeouts, then says busy
// naming it and makes nothing; when that kvmrun lets go meanwhile, `up` takes the instance. A
// record naming a process that is not kvmrun is stale: never waited for, never signalled.
TEST(LifecycleErrors, UpWaitsForAnotherKvmrunBringingTheInstanceUpThenTakesItOrSaysBusy) {
  LabTree lab;
  lab.append_to_lab("timeouts = { qemu = \"100ms\", boot = \"100ms\", agent = \"100ms\", "
                    "network = \"100ms\", disks = \"100ms\", cloud_init = \"100ms\" }\n");
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  const auto paths = lab.paths();
  std::optional<instance::InstanceLock> held;
  {
    auto lock = instance::InstanceLock::acquire(paths, "web");
    ASSERT_TRUE(lock.ok());
    held.emplace(std::move(lock).value());
  }
  // A kvmrun that lingers: following a run whose writer (this test) is alive.
  const auto run = lab.dir() / ("run-" + std::to_string(::getpid()));
  testing::write_file(run / "timings.jsonl", "");
  testing::BackgroundProcess other({KVMRUN_BINARY, "events", "--follow", run.string()});
  // Until it has exec'd, its /proc/PID/exe is this test's binary: not yet a kvmrun (a loaded CI
  // machine once ran the first up in that window).
  for (int i = 0; i < 500 && !instance::runs_program(other.pid(), KVMRUN_BINARY); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(instance::runs_program(other.pid(), KVMRUN_BINARY));
  ASSERT_TRUE(held->record_pid(other.pid()).ok());
  testing::write_file(paths.bringing_up(), std::to_string(other.pid()) + "\n");

  const auto started = std::chrono::steady_clock::now();
  const auto busy = lab.run({"up", "--stage", "provision"});
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(800));
  EXPECT_EQ(busy.code, 12) << busy.out << busy.err;
  EXPECT_NE(busy.out.find("web: another kvmrun (pid " + std::to_string(other.pid()) +
                          " (kvmrun)) is bringing it up; waiting for it"),
            std::string::npos)
      << busy.out;
  EXPECT_NE(busy.err.find("instance 'web' is being brought up by another kvmrun (pid " +
                          std::to_string(other.pid()) + " (kvmrun)), which did not finish within "),
            std::string::npos)
      << busy.err;
  EXPECT_FALSE(std::filesystem::exists(paths.disk()));

  std::thread release([&held] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    held.reset();
  });
  const auto taken = lab.run({"up", "--stage", "provision"});
  release.join();
  EXPECT_EQ(taken.code, 0) << taken.out << taken.err;
  EXPECT_NE(taken.out.find("waiting for it"), std::string::npos) << taken.out;
  EXPECT_TRUE(std::filesystem::exists(paths.disk()));
  EXPECT_FALSE(std::filesystem::exists(paths.bringing_up())) << "provisioned, not being brought up";

  // A record naming a live process that is not kvmrun (this test) is stale.
  testing::write_file(paths.bringing_up(), std::to_string(other.pid()) + "\n");
  EXPECT_EQ(instance::bringing_up(paths, KVMRUN_BINARY), other.pid());
  EXPECT_EQ(instance::bringing_up(paths, "/usr/bin/env"), std::nullopt);
  testing::write_file(paths.bringing_up(), "1\n");
  EXPECT_EQ(instance::bringing_up(paths, KVMRUN_BINARY), std::nullopt);
  testing::write_file(paths.bringing_up(), "garbage");
  EXPECT_EQ(instance::bringing_up(paths, KVMRUN_BINARY), std::nullopt);
}

// kvmrun's own files read back are input: damaged, they are errors naming the file and the
// field (exit 10), never an abort (before: terminate, exit 134).
TEST(LifecycleErrors, ReportOfARunWhoseSummaryIsAnEmptyObjectIsAnIoError) {
  LabTree lab;
  const auto run = lab.state() / "errs" / "runs" / "r1";
  std::filesystem::create_directories(run);
  testing::write_file(run / "summary.json", "{}");
  const auto r = lab.run({"report", run.string()});
  EXPECT_EQ(r.code, 10);
  EXPECT_EQ(r.err,
            "kvmrun: error: " + (run / "summary.json").string() +
                ": field \"command\" is missing. Remedy: kvmrun wrote this file and reads it "
                "back; it was damaged or edited by hand: restore it, or remove it and run "
                "the command that writes it again\n");
}

TEST(LifecycleErrors, StatusWithAWrongTypedProvenanceFieldReportsItAndStillShowsTheLab) {
  LabTree lab;
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  ASSERT_EQ(lab.run({"up", "--stage", "provision"}).code, 0);
  testing::write_file(lab.paths().provenance(),
                      R"({"lab":"errs","instance":"web","config_hash":"c","base_digest":"d",)"
                      R"("seed_sha256":"s","instance_id":42,"argv":[]})");
  const auto r = lab.run({"status"});
  EXPECT_EQ(r.code, 10) << r.err;
  EXPECT_EQ(r.out, "lab errs\n  web  stopped\n");
  EXPECT_NE(r.err.find("while reading the status of web: " + lab.paths().provenance().string() +
                       ": field \"instance_id\" is a number, not a string"),
            std::string::npos)
      << r.err;
  const auto json = lab.run({"status", "--json"});
  EXPECT_EQ(json.code, 10);
  EXPECT_EQ(json.out, R"({"lab":"errs","instances":[{"name":"web","state":"stopped","ports":[]}]})"
                      "\n");
}

// A lock held by a process kvmrun cannot match to the instance's QEMU (another kvmrun
// provisioning it, or anything else): down says so and deletes nothing (before, it removed the
// lock and sockets of a QEMU that then ran on unseen).
TEST(LifecycleErrors, DownLeavesAnInstanceWhoseLockIsHeldByAnUnmatchedProcessAlone) {
  LabTree lab;
  {
    const auto held = instance::InstanceLock::acquire(lab.paths(), "web");
    ASSERT_TRUE(held.ok()) << held.error().describe();
    testing::write_file(lab.paths().qmp_socket(), ""); // stands for a live QEMU's socket
    const auto down = lab.run({"down"});
    EXPECT_EQ(down.code, 12) << down.err;
    EXPECT_NE(down.err.find("instance 'web': its lock is held by something kvmrun cannot match "
                            "to the instance's QEMU (the lock records pid " +
                            std::to_string(::getpid())),
              std::string::npos)
        << down.err;
    EXPECT_NE(down.err.find("nothing was changed"), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(lab.paths().lock()));
    EXPECT_TRUE(std::filesystem::exists(lab.paths().qmp_socket()));
    EXPECT_TRUE(instance::probe_lock(lab.paths()).held);
    const auto status = lab.run({"status"});
    EXPECT_EQ(status.code, 0);
    EXPECT_NE(status.out.find("  web  busy  lock held by pid " + std::to_string(::getpid())),
              std::string::npos)
        << status.out;
    EXPECT_EQ(lab.run({"down", "--purge-disks"}).code, 12);
  } // the holder lets go
  const auto after = lab.run({"down"});
  EXPECT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(after.out, "web: not running\n");
  EXPECT_FALSE(std::filesystem::exists(lab.paths().runtime));
}

TEST(LifecycleErrors, AnUnreadableSeedIsAnErrorNotAnEmptyDigestInTheProvenance) {
  LabTree lab;
  ASSERT_EQ(lab.run({"up", "--stage", "image-cache"}).code, 0);
  ASSERT_EQ(lab.run({"up", "--stage", "provision"}).code, 0);
  std::filesystem::remove(lab.paths().seed());
  std::filesystem::create_directory(lab.paths().seed()); // exists, but cannot be read
  const auto r = lab.run({"up", "--stage", "runtime"});
  EXPECT_EQ(r.code, 10) << r.err;
  EXPECT_NE(r.err.find("while reading the seed of web for its provenance"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(lab.paths().provenance()));
  EXPECT_FALSE(instance::probe_lock(lab.paths()).held) << "no QEMU was started";
}

// The top-level handler: an exception from anywhere below run_cli is one line and exit 70.
TEST(LifecycleErrors, AnExceptionBelowTheCommandLineIsOneLineAndTheInternalExitCode) {
  std::ostringstream out, err;
  const CliEnvironment env{
      [](const char*) -> const char* { throw std::runtime_error("environment unavailable"); },
      0,
      "/",
      false,
      {},
      nullptr,
      true};
  EXPECT_EQ(run_cli({"status"}, out, err, env), 70);
  EXPECT_EQ(err.str(), "kvmrun: internal error: environment unavailable. Remedy: this is a bug in "
                       "kvmrun; please report it with the command line\n");
}

} // namespace
} // namespace kvmrun::cli
