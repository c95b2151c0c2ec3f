// A whole `kvmrun up --stage provision` process for a fresh instance on a cached image (lab
// loaded and checked, overlay, extra disk, seed ISO, evidence), beside what it replaces: two
// `qemu-img create` and `cloud-localds` with the same seed documents. Both sides are processes
// started the same way; the medians of the runs are compared.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "images/qcow2.hpp"

#include "bench/latency.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;

const std::filesystem::path& dir() {
  static const auto d = bench::make_scratch_dir("provision");
  return d;
}

CommandOutput run(const std::vector<std::string>& argv) {
  auto r = run_command(argv, CommandOptions{60s, 1U << 20U});
  if (!r || !r->success())
    throw std::runtime_error(argv.front() + " failed: " + (r ? r->err : r.error().describe()));
  return *r;
}

// kvmrun itself, started as the tools are (no `env` in between: its directories come from this
// process's environment, set once in prepare()).
std::vector<std::string> kvmrun(std::vector<std::string> args) {
  std::vector<std::string> argv{KVMRUN_BINARY, "--config=" + (dir() / "lab.toml").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The lab: one instance over a 20 GiB qcow2 base (pinned by digest), an extra disk, a user and
// commands in its cloud-init; the base fetched into the cache once.
void prepare() {
  static const bool ready = [] {
    ::setenv("KVMRUN_STATE_DIR", (dir() / "state").c_str(), 1);
    ::setenv("KVMRUN_RUNTIME_DIR", (dir() / "run").c_str(), 1);
    ::setenv("KVMRUN_CACHE_DIR", (dir() / "cache").c_str(), 1);
    const auto base = dir() / "base.qcow2";
    if (auto made =
            images::create_qcow2(base, images::Qcow2Spec{20ULL << 30U, 16, "", DiskFormat::qcow2});
        !made)
      throw std::runtime_error(made.error().describe());
    const auto bytes = read_file(base);
    const std::string lab = "[lab]\nname = \"prov\"\n[images.base]\nurl = \"" + base.string() +
                            "\"\nchecksum = \"sha256:" + sha256_hex(*bytes) + "\"\n" + R"(
[instances.web]
image = "base"
disks = [{ name = "data", size = "1GiB", mount = "/srv/data" }]
forwards = [{ host = 22401, guest = 22 }]
[instances.web.cloud_init]
runcmd = ["echo provisioned > /var/tmp/marker"]
[[instances.web.cloud_init.users]]
name = "alice"
sudo = true
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmbw5Y0xOJa5KJZaiQ3hOq1h0F4t8vYpUZ6bX7qgEfW a@example"]
)";
    if (auto w = write_file_atomic(dir() / "lab.toml", lab); !w)
      throw std::runtime_error(w.error().describe());
    run(kvmrun({"up", "--stage", "image-cache"}));
    // The same seed documents, for cloud-localds.
    const auto docs = run(kvmrun({"seed", "web", "--print"})).out;
    const auto part = [&](const std::string& from, const std::string& to) {
      const auto a = docs.find(from) + from.size();
      return docs.substr(a, to.empty() ? std::string::npos : docs.find(to) - a);
    };
    (void)write_file_atomic(dir() / "meta-data", part("# meta-data\n", "# user-data\n"));
    (void)write_file_atomic(dir() / "user-data", part("# user-data\n", "# network-config\n"));
    (void)write_file_atomic(dir() / "network-config", part("# network-config\n", ""));
    return true;
  }();
  (void)ready;
}

template <typename Prepare, typename Work>
void timed_processes(benchmark::State& state, Prepare prepare_run, Work work) {
  prepare();
  std::vector<double> us;
  for (auto _ : state) {
    prepare_run(); // untimed: start from a fresh instance
    const auto start = std::chrono::steady_clock::now();
    work();
    const double took =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    us.push_back(took);
    state.SetIterationTime(took / 1e6);
  }
  bench::report_latency(state, us);
}

void BM_ProvisionProcess_Kvmrun(benchmark::State& state) {
  timed_processes(
      state,
      [] {
        run(kvmrun({"down", "--purge-disks"}));
      },
      [] {
        run(kvmrun({"up", "--stage", "provision"}));
      });
}

void BM_ProvisionProcess_QemuImgAndCloudLocalds(benchmark::State& state) {
  if (!find_executable("cloud-localds")) {
    state.SkipWithError("cloud-localds is not installed (scripts/setup-deps installs it)");
    return;
  }
  const auto out = dir() / "by-tools";
  timed_processes(
      state,
      [&] {
        std::filesystem::remove_all(out);
        std::filesystem::create_directories(out);
      },
      [&] {
        run({"qemu-img", "create", "-q", "-f", "qcow2", "-b", (dir() / "base.qcow2").string(), "-F",
             "qcow2", (out / "disk.qcow2").string()});
        run({"qemu-img", "create", "-q", "-f", "qcow2", (out / "disk-data.qcow2").string(), "1G"});
        run({"cloud-localds", "--network-config", (dir() / "network-config").string(),
             (out / "seed.iso").string(), (dir() / "user-data").string(),
             (dir() / "meta-data").string()});
      });
}

} // namespace

BENCHMARK(BM_ProvisionProcess_Kvmrun)
    ->Iterations(30)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProvisionProcess_QemuImgAndCloudLocalds)
    ->Iterations(30)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
