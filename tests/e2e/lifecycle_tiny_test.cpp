// End to end with the tiny guest under TCG: the whole lifecycle through the kvmrun binary, the
// dry run, reattaching after kvmrun was killed, and attached mode taking QEMU down with it.
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <iostream>
#include <map>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::string tiny_lab(const std::string& lab_name) {
  return "[lab]\nname = \"" + lab_name + "\"\n" + tiny_image_section() + R"([instances.tiny-1]
image = "tiny"
cpus = 1
memory = "256MiB"
disks = [{ name = "data", size = "64MiB", mount = "/srv/data", aio = "io_uring" }]
timeouts = { shutdown = "3s" }
[instances.tiny-1.cloud_init]
runcmd = ["echo hello-from-runcmd > /var/lib/kvmrun/marker"]
)";
}

TEST(TinyLifecycle, UpStatusExecSnapshotRevertDownLeavesNothingRunning) {
  Lab lab(tiny_lab("life"));
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::cout << up.out;
  EXPECT_NE(up.out.find("ready: tiny-1"), std::string::npos);
  for (const char* gate : {"qemu", "boot", "agent", "addresses", "disks", "cloud-init"})
    EXPECT_NE(up.out.find(std::string(" ok   ") + gate), std::string::npos) << gate;
  const pid_t pid = pid_from(up.out, "tiny-1");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(alive(pid));

  const auto status = lab.run({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto doc = boost::json::parse(status.out).as_object();
  const auto& inst = doc.at("instances").as_array().at(0).as_object();
  EXPECT_EQ(inst.at("state").as_string(), "running");
  EXPECT_EQ(inst.at("pid").as_int64(), pid);

  const auto marker = lab.run({"exec", "tiny-1", "--", "/bin/cat", "/var/lib/kvmrun/marker"});
  EXPECT_EQ(marker.exit_code, 0);
  EXPECT_EQ(marker.out, "hello-from-runcmd\n");
  const auto code = lab.run({"exec", "tiny-1", "--", "/bin/sh", "-c", "echo e >&2; exit 3"});
  EXPECT_EQ(code.exit_code, 3);
  EXPECT_EQ(code.err, "e\n");

  // A file written after the snapshot is gone once the snapshot is reverted.
  ASSERT_EQ(lab.run({"snapshot", "create", "tiny-1", "before"}).exit_code, 0);
  ASSERT_EQ(lab.run({"exec", "tiny-1", "--", "/bin/sh", "-c", "echo x > /srv/data/after && sync"})
                .exit_code,
            0);
  EXPECT_EQ(lab.run({"exec", "tiny-1", "--", "/bin/test", "-e", "/srv/data/after"}).exit_code, 0);
  EXPECT_NE(lab.run({"snapshot", "list", "tiny-1"}).out.find("before"), std::string::npos);
  ASSERT_EQ(lab.run({"snapshot", "revert", "tiny-1", "before"}).exit_code, 0);
  EXPECT_EQ(lab.run({"exec", "tiny-1", "--", "/bin/test", "-e", "/srv/data/after"}).exit_code, 1);
  const auto again = lab.run({"snapshot", "create", "tiny-1", "before"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already has a snapshot 'before'"), std::string::npos);

  EXPECT_EQ(lab.run({"check"}).exit_code, 0);
  const auto report = lab.run({"report"});
  EXPECT_EQ(report.exit_code, 0);
  EXPECT_NE(report.out.find("stages:"), std::string::npos);
  const auto run = std::filesystem::canonical(lab.state() / "life" / "runs" / "latest");
  for (const char* f :
       {"timings.jsonl", "timings.csv", "summary.json", "tiny-1/argv.json", "tiny-1/serial.log"})
    EXPECT_TRUE(std::filesystem::exists(run / f)) << f;

  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_FALSE(alive(pid));
  EXPECT_TRUE(runtime_empty(lab));
  const auto after = lab.run({"exec", "tiny-1", "--", "/bin/true"});
  EXPECT_EQ(after.exit_code, 7);
  EXPECT_NE(after.err.find("is not running"), std::string::npos);
  // The instance's disk stays (down without --purge-disks); purging removes it.
  EXPECT_TRUE(std::filesystem::exists(lab.state() / "life" / "tiny-1" / "disk.qcow2"));
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "life" / "tiny-1"));
}

TEST(TinyLifecycle, SnapshotWhenReadyIsARollbackPointToTheFreshlyProvisionedGuest) {
  std::string text = tiny_lab("snap");
  text.replace(text.find("timeouts = "), 0, "snapshot_when_ready = \"ready\"\n");
  Lab lab(text);
  auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::cout << up.out;
  EXPECT_NE(up.out.find("tiny-1: snapshot ready taken ("), std::string::npos) << up.out;
  EXPECT_LT(up.out.find("snapshot ready taken"), up.out.find("ready: tiny-1"))
      << "before up returns";
  EXPECT_NE(lab.run({"snapshot", "list", "tiny-1"}).out.find("ready\n"), std::string::npos);
  const auto timings = read_file(
      std::filesystem::canonical(lab.state() / "snap" / "runs" / "latest") / "timings.jsonl");
  ASSERT_TRUE(timings.ok());
  EXPECT_NE(timings->find("\"name\":\"snapshot ready\""), std::string::npos) << *timings;

  ASSERT_EQ(lab.run({"exec", "tiny-1", "--", "/bin/sh", "-c", "echo x > /srv/data/later && sync"})
                .exit_code,
            0);
  ASSERT_EQ(lab.run({"snapshot", "revert", "tiny-1", "ready"}).exit_code, 0);
  EXPECT_EQ(lab.run({"exec", "tiny-1", "--", "/bin/test", "-e", "/srv/data/later"}).exit_code, 1);

  // A restart keeps the first one: it is the freshly provisioned state.
  ASSERT_EQ(lab.run({"down"}).exit_code, 0);
  up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("tiny-1: snapshot ready kept (the disk has it from an earlier up)"),
            std::string::npos)
      << up.out;
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);
}

// `input_command | kvmrun ARGS...` through /bin/sh (the harness runs kvmrun with /dev/null).
CommandOutput piped(const Lab& lab, const std::string& input_command,
                    const std::vector<std::string>& args) {
  std::string line = input_command + " |";
  for (const auto& a : lab.argv(args))
    line += " '" + a + "'";
  auto r =
      run_command({"/bin/sh", "-c", line}, CommandOptions{std::chrono::minutes(5), 64U << 20U});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
  return r.ok() ? *r : CommandOutput{};
}

TEST(TinyLifecycle, ExecPassesStandardInputAndTheEnvironmentAndRefusesCutOutput) {
  Lab lab(tiny_lab("stdin"));
  ASSERT_EQ(lab.run({"up"}).exit_code, 0);
  const auto cat = piped(lab, "printf 'two\\nlines'", {"exec", "tiny-1", "--", "/bin/cat"});
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, "two\nlines");
  // A MiB of binary data arrives byte for byte.
  const auto host_sum =
      run_command({"/bin/sh", "-c",
                   "head -c 1048576 /dev/urandom > " + (lab.state() / "blob").string() +
                       " && sha256sum < " + (lab.state() / "blob").string()});
  ASSERT_TRUE(host_sum.ok() && host_sum->success());
  const auto guest_sum = piped(lab, "cat " + (lab.state() / "blob").string(),
                               {"exec", "tiny-1", "--", "/bin/sh", "-c", "sha256sum"});
  EXPECT_EQ(guest_sum.exit_code, 0) << guest_sum.err;
  EXPECT_EQ(guest_sum.out.substr(0, 64), host_sum->out.substr(0, 64));
  EXPECT_EQ(lab.run({"exec", "tiny-1", "--", "/bin/cat"}).out, "") << "/dev/null is empty input";

  const auto vars = lab.run({"exec", "tiny-1", "--env", "GREETING=hello world", "--env", "N=2",
                             "--", "/bin/sh", "-c", "echo \"$GREETING $N\""});
  EXPECT_EQ(vars.exit_code, 0) << vars.err;
  EXPECT_EQ(vars.out, "hello world 2\n");
  const auto bad = lab.run({"exec", "tiny-1", "--env", "2X=1", "--", "/bin/true"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--env takes NAME=VALUE, got '2X=1'"), std::string::npos) << bad.err;

  const auto big = piped(lab, "head -c 9437184 /dev/zero", {"exec", "tiny-1", "--", "/bin/cat"});
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_NE(big.err.find("standard input is larger than 8 MiB"), std::string::npos) << big.err;
  const auto cut = lab.run({"exec", "tiny-1", "--", "/bin/sh", "-c", "head -c 17825792 /dev/zero"});
  EXPECT_EQ(cut.exit_code, 9) << cut.err;
  EXPECT_EQ(cut.out.size(), 16U << 20U);
  EXPECT_NE(cut.err.find("passed the guest agent's limit of 16 MiB per stream"), std::string::npos)
      << cut.err;
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);
}

TEST(TinyLifecycle, CpCopiesFilesAndDirectoriesBothWaysWithTheirModes) {
  Lab lab(tiny_lab("cp"));
  ASSERT_EQ(lab.run({"up"}).exit_code, 0);
  const auto here = lab.state() / "host";
  write_file(here / "tree" / "a.txt", "alpha\n");
  write_file(here / "tree" / "sub" / "run.sh", "#!/bin/sh\necho run\n");
  std::filesystem::permissions(here / "tree" / "sub" / "run.sh", std::filesystem::perms(0750));
  std::filesystem::permissions(here / "tree" / "sub", std::filesystem::perms(0710));
  std::string blob(3U << 20U, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i)
    blob[i] = static_cast<char>((i * 7919U) >> 3U);
  write_file(here / "blob.bin", blob);

  auto r = lab.run({"cp", (here / "blob.bin").string(), "tiny-1:/srv/data/blob.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = lab.run({"cp", "-r", (here / "tree").string(), "tiny-1:/srv/data"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto modes = lab.run({"exec", "tiny-1", "--", "/bin/sh", "-c",
                              "cd /srv/data && stat -c '%a %n' tree/sub tree/sub/run.sh && "
                              "cat tree/a.txt && ls -a tree"});
  EXPECT_EQ(modes.out, "710 tree/sub\n750 tree/sub/run.sh\nalpha\n.\n..\na.txt\nsub\n")
      << "no .kvmrun-part left behind";

  r = lab.run({"cp", "tiny-1:/srv/data/blob.bin", "tiny-1:/srv/data/tree", here.string() + "/"});
  EXPECT_EQ(r.exit_code, 2) << "a directory without -r";
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  const auto back = lab.state() / "back";
  std::filesystem::create_directories(back);
  r = lab.run({"cp", "-r", "tiny-1:/srv/data/blob.bin", "tiny-1:/srv/data/tree", back.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*read_file(back / "blob.bin"), blob);
  EXPECT_EQ(*read_file(back / "tree" / "sub" / "run.sh"), "#!/bin/sh\necho run\n");
  EXPECT_EQ(std::filesystem::status(back / "tree" / "sub" / "run.sh").permissions(),
            std::filesystem::perms(0750));
  EXPECT_EQ(std::filesystem::status(back / "tree" / "sub").permissions(),
            std::filesystem::perms(0710));

  // Errors: nothing is left under the target's name.
  r = lab.run({"cp", "tiny-1:/srv/data/nope", (back / "nope").string()});
  EXPECT_EQ(r.exit_code, 9);
  EXPECT_NE(r.err.find("no /srv/data/nope in the guest"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(back / "nope"));
  EXPECT_FALSE(std::filesystem::exists(back / "nope.kvmrun-part"));
  r = lab.run({"cp", (here / "blob.bin").string(), "tiny-1:/no/such/dir/blob.bin"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("nothing was left under that name"), std::string::npos) << r.err;
  r = lab.run({"cp", (here / "missing").string(), "tiny-1:/srv/data/x"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_NE(r.err.find("no " + (here / "missing").string() + " on this host"), std::string::npos);
  r = lab.run({"cp", "tiny-1:relative", back.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("must be absolute"), std::string::npos) << r.err;
  r = lab.run({"cp", (here / "blob.bin").string(), back.string()});
  EXPECT_EQ(r.exit_code, 2) << "host to host";
  r = lab.run({"cp", "nosuch:/x", back.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);
  r = lab.run({"cp", (here / "blob.bin").string(), "tiny-1:/srv/data/blob.bin"});
  EXPECT_EQ(r.exit_code, 7) << "not running: " << r.err;
}

TEST(TinyLifecycle, AForwardAddedAtRunTimeServesIsKnownAndIsRemovedCleanly) {
  std::string text = tiny_lab("fwd");
  text.replace(text.find("timeouts = "), 0,
               "forwards = [{ host = 18090, guest = 9, protocol = \"udp\" }]\n");
  Lab lab(text);
  ASSERT_EQ(lab.run({"up"}).exit_code, 0);
  ASSERT_EQ(
      lab.run({"exec", "tiny-1", "--", "/bin/sh", "-c",
               "echo served-by-the-guest > /srv/data/index.html && httpd -p 8080 -h /srv/data"})
          .exit_code,
      0);
  EXPECT_EQ(http_get(18080, "/index.html"), "") << "not forwarded yet";
  auto r = lab.run({"forward", "add", "tiny-1", "18080:8080"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "tiny-1: added 127.0.0.1:18080->8080\n");
  EXPECT_EQ(http_get(18080, "/index.html"), "served-by-the-guest\n");
  // Known to later kvmrun processes: status, list, and check (whose ports gate probes it).
  EXPECT_NE(lab.run({"status"}).out.find("127.0.0.1:18080->8080"), std::string::npos);
  EXPECT_EQ(lab.run({"forward", "list", "tiny-1"}).out,
            "127.0.0.1:18090->9/udp  (lab)\n127.0.0.1:18080->8080  (added)\n");
  const auto check = lab.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("127.0.0.1:18080 -> 8080"), std::string::npos) << check.out;

  // Refusals.
  r = lab.run({"forward", "add", "tiny-1", "18080:80"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is already forwarded to tiny-1 (127.0.0.1:18080->8080)"), std::string::npos)
      << r.err;
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(18081);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  r = lab.run({"forward", "add", "tiny-1", "18081:80"});
  EXPECT_EQ(r.exit_code, 12);
  EXPECT_NE(r.err.find("127.0.0.1:18081 is in use on this host"), std::string::npos) << r.err;
  ::close(holder);
  r = lab.run({"forward", "add", "tiny-1", "0.0.0.0:18082:80"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("add --public"), std::string::npos) << r.err;
  EXPECT_EQ(lab.run({"forward", "add", "tiny-1", "80"}).exit_code, 2);
  r = lab.run({"forward", "remove", "tiny-1", "18090:9/udp"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is declared in the lab"), std::string::npos) << r.err;

  r = lab.run({"forward", "remove", "tiny-1", "18080:8080"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(http_get(18080, "/index.html"), "") << "no longer forwarded";
  EXPECT_EQ(lab.run({"status"}).out.find("18080"), std::string::npos);
  r = lab.run({"forward", "remove", "tiny-1", "18080:8080"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no added forward"), std::string::npos) << r.err;

  // A torn record is an error naming it, for add (which checks every record) and for list.
  const auto record = lab.runtime() / "fwd" / "tiny-1" / "forwards.json";
  write_file(record, "{\"forwards\":[{");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"forward", "add", "tiny-1", "18085:8080"}, {"forward", "list", "tiny-1"}}) {
    r = lab.run(args);
    EXPECT_EQ(r.exit_code, 10) << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(record.string()), std::string::npos) << r.err;
  }
  r = lab.run({"status"}); // says so too, and still shows the lab's own forward
  EXPECT_EQ(r.exit_code, 10) << r.err;
  EXPECT_NE(r.err.find(record.string()), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("127.0.0.1:18090->9/udp"), std::string::npos) << r.out;
  std::filesystem::remove(record);

  ASSERT_EQ(lab.run({"forward", "add", "tiny-1", "18083:8080"}).exit_code, 0);
  // Four kvmruns adding at once: each is applied and recorded (none lost to another's write).
  std::vector<std::thread> adders;
  std::vector<int> codes(4, -1);
  for (int i = 0; i < 4; ++i)
    adders.emplace_back([&, i] {
      codes[static_cast<std::size_t>(i)] =
          lab.run({"forward", "add", "tiny-1",
                   std::to_string(18100 + i) + ":" + std::to_string(9000 + i)})
              .exit_code;
    });
  for (auto& t : adders)
    t.join();
  EXPECT_EQ(codes, std::vector<int>(4, 0));
  const auto listed = lab.run({"forward", "list", "tiny-1"}).out;
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(listed.find("127.0.0.1:" + std::to_string(18100 + i) + "->" +
                          std::to_string(9000 + i) + "  (added)"),
              std::string::npos)
        << listed;

  // kvmrun ssh refuses what it cannot do, saying why: no forward to port 22, a guest without
  // an SSH server (tiny has none), no ssh client on this host, no or a damaged lab key.
  r = lab.run({"ssh", "tiny-1", "--", "true"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("has no forward to its SSH port 22"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kvmrun forward add tiny-1 2222:22"), std::string::npos) << r.err;
  ASSERT_EQ(lab.run({"forward", "add", "tiny-1", "18022:22"}).exit_code, 0);
  r = lab.run({"ssh", "tiny-1"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("the guest has no SSH host key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("openssh-server"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "fwd" / "tiny-1" / "ssh_known_hosts"));
  r = run_kvmrun({"--config=" + lab.config().string(), "ssh", "tiny-1"},
                 {"PATH=/nonexistent", "KVMRUN_STATE_DIR=" + lab.state().string(),
                  "KVMRUN_RUNTIME_DIR=" + lab.runtime().string()});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("there is no ssh client on this host"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("apt-get install openssh-client"), std::string::npos) << r.err;
  const auto key = lab.state() / "fwd" / "ssh" / "id_ed25519";
  const auto key_text = read_file(key);
  ASSERT_TRUE(key_text.ok()) << "up made the lab's key";
  write_file(key, key_text->substr(0, 100));
  r = lab.run({"ssh", "tiny-1"});
  EXPECT_EQ(r.exit_code, 10) << r.err;
  EXPECT_NE(r.err.find(key.string() + " is damaged"), std::string::npos) << r.err;
  std::filesystem::remove(key);
  r = lab.run({"ssh", "tiny-1"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("has no SSH key yet"), std::string::npos) << r.err;

  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_TRUE(runtime_empty(lab)) << "the record goes with the instance";
  r = lab.run({"forward", "add", "tiny-1", "18084:8080"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

// The host CPUs each thread of `pid` named "CPU n/TCG" may run on ("1" or "0-1").
std::map<std::string, std::string> vcpu_affinity(pid_t pid) {
  std::map<std::string, std::string> out;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(tasks)) {
    const auto status = read_file(t.path() / "status", 1U << 16U);
    if (!status || status->find("Name:\tCPU ") != 0)
      continue;
    const auto name = status->substr(6, status->find('\n') - 6);
    const auto at = status->find("Cpus_allowed_list:\t");
    out[name] = status->substr(at + 19, status->find('\n', at) - at - 19);
  }
  return out;
}

TEST(TinyLifecycle, VcpusArePinnedToTheirHostCpusAndCheckSeesIt) {
  const unsigned cpu = std::thread::hardware_concurrency() > 1 ? 1 : 0;
  std::string text = tiny_lab("pin");
  text.replace(text.find("timeouts = "), 0, "cpu_affinity = [" + std::to_string(cpu) + "]\n");
  Lab lab(text);
  const auto up = lab.run({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  EXPECT_NE(up.out.find("vCPU 0 -> host CPU " + std::to_string(cpu)), std::string::npos) << up.out;
  const auto pinned = vcpu_affinity(pid_from(up.out, "tiny-1"));
  ASSERT_EQ(pinned.size(), 1U);
  EXPECT_EQ(pinned.begin()->second, std::to_string(cpu)) << pinned.begin()->first;
  const auto check = lab.run({"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("vCPU 0 -> host CPU " + std::to_string(cpu)), std::string::npos);
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);

  std::string far = tiny_lab("pin2");
  far.replace(far.find("timeouts = "), 0, "cpu_affinity = [1000]\n");
  Lab bad(far);
  const auto refused = bad.run({"up"});
  EXPECT_EQ(refused.exit_code, 4) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("cpu_affinity names host CPU 1000, which kvmrun may not use here"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(bad.run({"status"}).out.find("running"), std::string::npos) << "stopped again";
}

TEST(TinyLifecycle, DryRunPrintsTheQemuArgvAndChangesNothing) {
  Lab lab(tiny_lab("dry"));
  const auto up = lab.run({"up", "--dry-run"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("-nodefaults -no-user-config"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("create "), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(lab.state()));
  EXPECT_FALSE(std::filesystem::exists(lab.runtime()));
  EXPECT_FALSE(std::filesystem::exists(lab.cache() / "images")) << "not even the manifest copy";
  const auto down = lab.run({"down", "--dry-run"});
  EXPECT_EQ(down.exit_code, 0);
  EXPECT_NE(down.out.find("not running"), std::string::npos);
}

TEST(TinyLifecycle, StatusReattachesAfterKvmrunWasKilledAndDownStopsIt) {
  Lab lab(tiny_lab("killed"));
  pid_t qemu = -1;
  {
    BackgroundProcess up(lab.argv({"up"}));
    const auto line = up.wait_for_line("  tiny-1: QEMU pid ", 120s);
    ASSERT_TRUE(line) << "kvmrun up never started QEMU";
    qemu = pid_from(*line, "tiny-1");
    ::kill(up.pid(), SIGKILL); // in the middle of the gates
    ASSERT_TRUE(up.wait_exit(10s));
  }
  ASSERT_TRUE(alive(qemu)) << "a detached instance outlives the kvmrun that started it";
  const auto status = lab.run({"status", "--json"});
  const auto inst =
      boost::json::parse(status.out).as_object().at("instances").as_array().at(0).as_object();
  EXPECT_EQ(inst.at("pid").as_int64(), qemu);
  EXPECT_NE(inst.at("state").as_string(), "stopped");
  // Its gates never passed (their kvmrun died waiting on them): the next up does not call it
  // ready; it stops the half-started QEMU on purpose and brings the instance up again.
  const auto again = lab.run({"up"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("tiny-1: its QEMU (pid " + std::to_string(qemu) +
                           ") was started by a kvmrun that is gone before its gates passed; "
                           "stopping it to start it again"),
            std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("ready: tiny-1"), std::string::npos) << again.out;
  EXPECT_FALSE(alive(qemu));
  const pid_t second = pid_from(again.out, "tiny-1");
  EXPECT_TRUE(alive(second));
  // Now proven: an up finds it running and re-proves its gates instead of starting another.
  const auto proven = lab.run({"up"});
  EXPECT_EQ(proven.exit_code, 0) << proven.err;
  EXPECT_NE(proven.out.find("tiny-1: already running; its gates are re-proven"), std::string::npos)
      << proven.out;
  EXPECT_NE(proven.out.find("  tiny-1       ok   provenance"), std::string::npos) << proven.out;
  EXPECT_NE(proven.out.find("nothing started: every instance already runs and passed its gates "
                            "again"),
            std::string::npos)
      << proven.out;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_FALSE(alive(second));
  EXPECT_TRUE(runtime_empty(lab));
}

// The tiny lab with a forward to guest port 9, which nothing in the guest serves, and the ports
// gate's timeout set to `network_timeout`.
std::string tiny_lab_with_unserved_port(const std::string& lab_name,
                                        const std::string& network_timeout) {
  std::string toml = tiny_lab(lab_name);
  const std::string timeouts = R"(timeouts = { shutdown = "3s" })";
  toml.replace(toml.find(timeouts), timeouts.size(),
               R"(timeouts = { shutdown = "3s", network = ")" + network_timeout +
                   "\" }\nforwards = [{ host = " + std::to_string(unused_port()) +
                   ", guest = 9 }]");
  return toml;
}

// QEMU serves one client per socket. `up` watches a fresh boot on a monitor of its own and the
// console is followed through its log, so status, console --follow and down are not locked out
// while `up` waits on a gate: here the ports gate, for a forwarded port nothing in the guest
// serves.
TEST(TinyLifecycle, StatusConsoleAndDownWorkWhileUpWaitsOnAGate) {
  Lab lab(tiny_lab_with_unserved_port("busy", "5m"));
  BackgroundProcess up(lab.argv({"up"}));
  const auto spawned = up.wait_for_line("  tiny-1: QEMU pid ", 120s);
  ASSERT_TRUE(spawned) << "kvmrun up never started QEMU";
  const pid_t qemu = pid_from(*spawned, "tiny-1");
  BackgroundProcess console(lab.argv({"console", "tiny-1", "--follow"}));
  EXPECT_TRUE(console.wait_for_line("kvmrun-ready instance-id=", 120s))
      << "console --follow missed the ready marker";
  ASSERT_TRUE(up.wait_for_line("  tiny-1       ok   agent", 60s));

  const auto status = lab.run({"status", "--json"});
  const auto inst =
      boost::json::parse(status.out).as_object().at("instances").as_array().at(0).as_object();
  EXPECT_EQ(inst.at("state").as_string(), "running") << status.out;
  EXPECT_EQ(inst.at("pid").as_int64(), qemu);

  const auto down = lab.run({"down"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  // Through QMP (the tiny guest ignores ACPI, so QMP quit), never by signal.
  EXPECT_NE(down.out.find("stopped (quit"), std::string::npos) << down.out;
  EXPECT_FALSE(alive(qemu));
  const auto up_status = up.wait_exit(30s);
  ASSERT_TRUE(up_status) << "up kept waiting on a QEMU that was stopped";
  EXPECT_TRUE(WIFEXITED(*up_status) && WEXITSTATUS(*up_status) != 0);
  const auto console_status = console.wait_exit(10s);
  ASSERT_TRUE(console_status) << "console --follow outlived QEMU";
  EXPECT_TRUE(WIFEXITED(*console_status) && WEXITSTATUS(*console_status) == 0);
  EXPECT_TRUE(runtime_empty(lab));
}

// A gate that fails: `up` exits with the gate's error (timeout: 8) naming what it saw and the
// setting to raise, stops the instance, and keeps its disks, logs and evidence.
TEST(TinyLifecycle, AFailedGateStopsTheInstanceAndKeepsItsDisksAndLogs) {
  Lab lab(tiny_lab_with_unserved_port("failing", "3s"));
  const auto up = lab.run({"up"});
  EXPECT_EQ(up.exit_code, 8) << up.out << up.err;
  EXPECT_NE(up.out.find("tiny-1: not ready; stopping it"), std::string::npos) << up.out;
  EXPECT_NE(up.err.find("nothing in the guest answered on port 9"), std::string::npos) << up.err;
  EXPECT_NE(up.err.find("timeouts.network"), std::string::npos) << up.err;
  const pid_t qemu = pid_from(up.out, "tiny-1");
  ASSERT_GT(qemu, 0);
  EXPECT_FALSE(alive(qemu));
  EXPECT_TRUE(runtime_empty(lab));
  const auto instance = lab.state() / "failing" / "tiny-1";
  for (const char* kept : {"disk.qcow2", "disk-data.qcow2", "serial.log"})
    EXPECT_TRUE(std::filesystem::exists(instance / kept)) << kept;
  const auto timings = read_file(lab.state() / "failing" / "runs" / "latest" / "timings.jsonl");
  ASSERT_TRUE(timings.ok());
  EXPECT_NE(timings->find(R"("name":"ports","instance":"tiny-1")"), std::string::npos);
  EXPECT_NE(timings->find(R"("outcome":"failed")"), std::string::npos);
  EXPECT_EQ(lab.run({"down", "--purge-disks"}).exit_code, 0);
}

// Waits until an `up --attach` has its instance ready; QEMU's pid, or -1.
pid_t wait_attached(BackgroundProcess& up) {
  const auto line = up.wait_for_line("  tiny-1: QEMU pid ", 120s);
  if (!line || !up.wait_for_line("attached:", 120s))
    return -1;
  return pid_from(*line, "tiny-1");
}

TEST(TinyLifecycle, AttachedModeTakesQemuDownWhenKvmrunIsKilled) {
  Lab lab(tiny_lab("attached"));
  BackgroundProcess up(lab.argv({"up", "--attach"}));
  const pid_t qemu = wait_attached(up);
  ASSERT_GT(qemu, 0);
  ::kill(up.pid(), SIGKILL);
  ASSERT_TRUE(up.wait_exit(10s));
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (alive(qemu) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms); // test-side polling of /proc, bounded
  EXPECT_FALSE(alive(qemu)) << "QEMU outlived an attached kvmrun";
}

TEST(TinyLifecycle, AttachedModeStopsItsInstancesOnSigterm) {
  Lab lab(tiny_lab("term"));
  BackgroundProcess up(lab.argv({"up", "--attach"}));
  const pid_t qemu = wait_attached(up);
  ASSERT_GT(qemu, 0);
  ::kill(up.pid(), SIGTERM);
  ASSERT_TRUE(up.wait_for_line("  tiny-1: stopped", 30s));
  const auto status = up.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_FALSE(alive(qemu));
  EXPECT_TRUE(runtime_empty(lab));
}

// `up -- COMMAND`: the lab's workload, as a CI job or a Kubernetes Job runs it.
TEST(TinyLifecycle, ACommandAfterDashDashRunsOnceEveryGatePassedThenTheInstancesStop) {
  Lab lab(tiny_lab("workload"));
  // It finds the lab and the run through the variables kvmrun sets, drives the guest with
  // kvmrun itself, and its exit status becomes kvmrun's.
  const std::string script = "set -e; test \"$KVMRUN_CONFIG\" = '" + lab.config().string() +
                             "'; test -f \"$KVMRUN_RUN_DIR/summary.json\"; '" KVMRUN_BINARY
                             "' exec tiny-1 -- uname -s; echo done > \"$KVMRUN_RUN_DIR/mine\"; "
                             "exit 7";
  const auto r = lab.run({"up", "--", "/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
  EXPECT_NE(r.out.find("attached: running `/bin/sh -c"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nLinux\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("attached: the command exited 7\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  tiny-1: stopped"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("ready: tiny-1"), r.out.find("attached: running")) << r.out;
  EXPECT_TRUE(std::filesystem::exists(lab.state() / "workload" / "runs" / "latest" / "mine"));
  EXPECT_TRUE(runtime_empty(lab));
  // What the command leaves running when it ends is ended with it.
  const auto left =
      lab.run({"up", "--", "/bin/sh", "-c", "sleep 600 >/dev/null 2>&1 & echo \"left $!\""});
  EXPECT_EQ(left.exit_code, 0) << left.err;
  const auto at = left.out.find("\nleft ");
  ASSERT_NE(at, std::string::npos) << left.out;
  EXPECT_FALSE(alive(std::stoi(left.out.substr(at + 6)))) << "the command's child outlived kvmrun";
  EXPECT_TRUE(runtime_empty(lab));
  // A command that cannot start is kvmrun's host error, and the instances still stop.
  const auto missing = lab.run({"up", "--", "/nonexistent/lab-tests"});
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
  EXPECT_NE(missing.err.find("while starting the command after --: cannot find the program "
                             "'/nonexistent/lab-tests'"),
            std::string::npos)
      << missing.err;
  EXPECT_NE(missing.out.find("  tiny-1: stopped"), std::string::npos) << missing.out;
  EXPECT_TRUE(runtime_empty(lab));
}

TEST(TinyLifecycle, EvidenceGoesWhereKvmrunEvidenceDirSaysAndReportFindsItThere) {
  Lab lab(tiny_lab("moved"));
  TempDir evidence;
  const std::string moved = "KVMRUN_EVIDENCE_DIR=" + evidence.path().string();
  ASSERT_EQ(lab.run_with({moved}, {"up", "--stage", "image-cache"}).exit_code, 0);
  const auto up = lab.run_with({moved}, {"up", "--stage", "provision"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("evidence: " + (evidence / "moved" / "runs").string()), std::string::npos)
      << up.out;
  EXPECT_TRUE(std::filesystem::exists(evidence / "moved" / "runs" / "latest" / "summary.json"));
  EXPECT_TRUE(std::filesystem::exists(evidence / "moved" / "runs" / "latest" / "junit.xml"));
  EXPECT_FALSE(std::filesystem::exists(lab.state() / "moved" / "runs"));
  EXPECT_TRUE(std::filesystem::exists(lab.state() / "moved" / "tiny-1" / "disk.qcow2"));
  const auto report = lab.run_with({moved}, {"report"});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("provision"), std::string::npos) << report.out;
  // Without the variable, the lab's evidence is the state's: none there yet.
  EXPECT_NE(lab.run({"report"}).exit_code, 0);
}

TEST(TinyLifecycle, SigtermReachesTheCommandAndTheInstancesStopWhenItEnds) {
  Lab lab(tiny_lab("workterm"));
  // It says when its trap is set: a signal before that would end it at once.
  BackgroundProcess up(lab.argv({"up", "--", "/bin/sh", "-c",
                                 "trap 'echo got-term; exit 5' TERM; echo trapped; "
                                 "while :; do sleep 0.1; done"}));
  ASSERT_TRUE(up.wait_for_line("trapped", 120s));
  ::kill(up.pid(), SIGTERM);
  ASSERT_TRUE(up.wait_for_line("got-term", 10s));
  ASSERT_TRUE(up.wait_for_line("  tiny-1: stopped", 30s));
  const auto status = up.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 5);
  EXPECT_TRUE(runtime_empty(lab));
}

TEST(TinyLifecycle, ACommandThatIgnoresSigtermIsKilledAfterItsGraceAndTheInstancesStop) {
  Lab lab(tiny_lab("workstubborn"));
  // Its child ignores SIGTERM too (inherited), and is killed with it: the whole group.
  BackgroundProcess up(lab.argv({"up", "--", "/bin/sh", "-c",
                                 "trap '' TERM; sleep 600 >/dev/null 2>&1 & echo \"ignoring $!\"; "
                                 "wait"}));
  const auto ignoring = up.wait_for_line("ignoring ", 120s);
  ASSERT_TRUE(ignoring);
  const pid_t child = std::stoi(ignoring->substr(9));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(up.pid(), SIGTERM);
  ASSERT_TRUE(up.wait_for_line("attached: the command did not end in time", 15s));
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 9s);
  ASSERT_TRUE(up.wait_for_line("  tiny-1: stopped", 30s));
  const auto status = up.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 128 + SIGKILL);
  EXPECT_FALSE(alive(child)) << "the command's child outlived it";
  EXPECT_TRUE(runtime_empty(lab));
}

} // namespace
} // namespace kvmrun::testing
