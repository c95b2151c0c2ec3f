// Scaling: 1, 2, 4 and 8 tiny instances, and 2 debian-12 instances, in one lab brought up at
// once (TCG), measured by `kvmrun bench cold` itself: wall time to every gate passed, kvmrun's
// own CPU time (getrusage of the process running `up`: its threads and the children it reaped;
// QEMU is not among them) and its peak resident memory (VmHWM, reset before the run), and each
// instance's time to ready. The targets: under 10 MiB resident while it watches 8 guests, and
// under 20 ms of CPU per instance outside QEMU.
#include "bench/labs.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>

namespace {

using namespace kvmrun;

int runs() {
  const char* n = std::getenv("KVMRUN_BENCH_RUNS");
  return n != nullptr ? std::max(1, std::atoi(n)) : 1;
}

// `lab` (its images and defaults) with state.range(0) instances named PREFIX1, PREFIX2, ...
void measure(benchmark::State& state, std::string lab, const std::string& prefix) {
  const auto count = static_cast<int>(state.range(0));
  for (int i = 1; i <= count; ++i)
    lab += "[instances." + prefix + std::to_string(i) + "]\n";
  const auto dir = bench::make_scratch_dir("scale-" + std::to_string(count));
  for (auto _ : state) {
    (void)_;
    try {
      const auto s = bench::bench_cold(dir, lab, runs());
      double first = 1e300;
      double last = 0;
      for (const auto& [name, spread] : s.at("ready_ms").as_object()) {
        first = std::min(first, bench::median_of(spread));
        last = std::max(last, bench::median_of(spread));
      }
      const double cpu_ms = bench::median_of(s.at("kvmrun_cpu_ms"));
      state.SetIterationTime(bench::median_of(s.at("up_ms")) / 1e3);
      state.counters["instances"] = count;
      state.counters["runs"] = s.at("ok").to_number<double>();
      state.counters["wall_s"] = bench::median_of(s.at("up_ms")) / 1e3;
      state.counters["first_ready_s"] = first / 1e3;
      state.counters["last_ready_s"] = last / 1e3;
      state.counters["kvmrun_cpu_ms"] = cpu_ms;
      state.counters["kvmrun_cpu_ms_per_instance"] = cpu_ms / count;
      state.counters["kvmrun_peak_rss_mib"] = bench::median_of(s.at("kvmrun_peak_rss_kib")) / 1024;
      state.counters["qemu_cpu_s_per_instance"] =
          bench::median_of(s.at("qemu_cpu_ms")) / 1e3 / count;
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void BM_Scaling_Tiny(benchmark::State& state) {
  measure(state,
          "[lab]\nname = \"scale\"\n" + bench::tiny_image_section() +
              "[defaults]\nimage = \"tiny\"\ncpus = 1\nmemory = \"256MiB\"\n"
              "timeouts = { shutdown = \"3s\", agent = \"20m\" }\n",
          "t");
}

void BM_Scaling_Debian12(benchmark::State& state) {
  measure(state,
          "[lab]\nname = \"scale\"\n" + bench::debian12_image_section() +
              "[defaults]\nimage = \"debian-12\"\ncpus = 1\nmemory = \"1GiB\"\n"
              "timeouts = { agent = \"20m\", cloud_init = \"20m\" }\n",
          "d");
}

} // namespace

BENCHMARK(BM_Scaling_Tiny)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_Scaling_Debian12)->Arg(2)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
