// How the benchmarks report per-iteration times: the median and the 99th percentile, as the
// counters bench/report.py reads (median_us, p99_us).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

namespace kvmrun::bench {

inline void report_latency(benchmark::State& state, std::vector<double> us) {
  if (us.empty())
    return;
  std::sort(us.begin(), us.end());
  state.counters["median_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

} // namespace kvmrun::bench
