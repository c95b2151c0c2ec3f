// Scaling: 1, 2, 4 and 8 tiny instances (TCG) in one lab brought up at once by one `kvmrun up`:
// wall time to every gate passed, kvmrun's own CPU time (wait4; its QEMUs are not its waited-for
// children, so they are not in it) and its peak resident memory: VmHWM of its own address space,
// sampled from /proc while it runs (wait4's ru_maxrss would carry this benchmark's own size
// across the fork and exec). The mission's targets: under 10 MiB resident while it watches 8
// guests, and under 20 ms of CPU per instance outside QEMU.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "host/dirs.hpp"

#include "bench/by_hand.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;

void BM_Scaling_KvmrunUp(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  const auto dir = bench::make_scratch_dir("scale-" + std::to_string(count));
  static const std::string guest = bench::build_guest("tiny").string();
  std::string lab = "[lab]\nname = \"scale\"\n[images.tiny]\nurl = \"file://" + guest +
                    "/tiny.qcow2\"\nchecksum_url = \"file://" + guest +
                    "/SHA256SUMS\"\nkernel = \"" + guest + "/vmlinuz\"\ninitrd = \"" + guest +
                    "/initrd.img\"\ncmdline = \"console=ttyS0\"\n"
                    "[defaults]\nimage = \"tiny\"\ncpus = 1\nmemory = \"256MiB\"\n"
                    "timeouts = { shutdown = \"3s\", agent = \"20m\" }\n";
  for (int i = 1; i <= count; ++i)
    lab += "[instances.t" + std::to_string(i) + "]\n";
  if (auto w = write_file_atomic(dir / "lab.toml", lab); !w)
    throw std::runtime_error(w.error().describe());
  ::setenv("KVMRUN_STATE_DIR", (dir / "state").c_str(), 1);
  ::setenv("KVMRUN_RUNTIME_DIR", (dir / "run").c_str(), 1);
  ::setenv("KVMRUN_CACHE_DIR", (dir / "cache").c_str(), 1);
  const std::vector<std::string> config{KVMRUN_BINARY, "--config=" + (dir / "lab.toml").string()};
  const auto kvmrun = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = config;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  // Untimed: the image into this lab's cache, so every run starts from a cached base.
  if (auto r = run_command(kvmrun({"up", "--stage", "image-cache"})); !r || !r->success())
    throw std::runtime_error("kvmrun up --stage image-cache failed");
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto pid = spawn_background(kvmrun({"up"}), BackgroundOptions{{}, -1, false, false});
    if (!pid)
      throw std::runtime_error(pid.error().describe());
    int status = 0;
    rusage ru{};
    double peak_kib = 0;
    while (::wait4(*pid, &status, WNOHANG, &ru) == 0) {
      if (const auto proc = read_file("/proc/" + std::to_string(*pid) + "/status", 1U << 16U)) {
        const auto at = proc->find("VmHWM:");
        if (at != std::string::npos)
          peak_kib = std::max(peak_kib, std::strtod(proc->c_str() + at + 6, nullptr));
      }
      std::this_thread::sleep_for(20ms); // sampling, not waiting for an event
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    (void)run_command(kvmrun({"down", "--purge-disks"}), CommandOptions{5min, 1U << 20U});
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("kvmrun up failed");
      return;
    }
    const double cpu_ms = (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3) +
                          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    state.SetIterationTime(wall);
    state.counters["instances"] = count;
    state.counters["wall_s"] = wall;
    state.counters["kvmrun_cpu_ms"] = cpu_ms;
    state.counters["kvmrun_cpu_ms_per_instance"] = cpu_ms / count;
    state.counters["kvmrun_peak_rss_mib"] = peak_kib / 1024.0;
  }
}

} // namespace

BENCHMARK(BM_Scaling_KvmrunUp)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);
