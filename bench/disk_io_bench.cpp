// Disk I/O settings: a guest's sequential write throughput to a disk with each cache and aio
// setting kvmrun offers. One tiny guest (TCG) with one 320 MiB extra disk per setting; each
// iteration writes 256 MiB of zeros with dd to the raw disk and syncs it (conv=fsync), timed in
// the guest from /proc/uptime (centiseconds), so the figure is what the guest saw, flush included.
// The first iteration allocates the qcow2 file's clusters; later ones overwrite them.
#include "bench/labs.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace kvmrun;

struct Setting {
  const char* name; // the disk's name and the benchmark's
  const char* keys; // its keys in the lab
};

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      {"wb-threads", "cache = \"writeback\", aio = \"threads\""},
      {"wb-iouring", "cache = \"writeback\", aio = \"io_uring\""},
      {"none-threads", "cache = \"none\", aio = \"threads\""},
      {"none-native", "cache = \"none\", aio = \"native\""},
      {"none-iouring", "cache = \"none\", aio = \"io_uring\""},
      {"unsafe-threads", "cache = \"unsafe\", aio = \"threads\""},
  };
  return all;
}

bench::LabRun& guest() {
  static const auto lab = [] {
    std::string text = "[lab]\nname = \"diskio\"\n" + bench::tiny_image_section() +
                       "[instances.io]\nimage = \"tiny\"\ncpus = 1\nmemory = \"256MiB\"\n"
                       "timeouts = { shutdown = \"3s\" }\ndisks = [\n";
    for (const auto& s : settings())
      text += std::string("  { name = \"") + s.name +
              "\", size = \"320MiB\", filesystem = " + "\"none\", " + s.keys + " },\n";
    return text + "]\n";
  }();
  static auto run = std::make_unique<bench::LabRun>(bench::make_scratch_dir("diskio"), lab);
  return *run;
}

void BM_GuestSequentialWrite(benchmark::State& state, const Setting& setting) {
  constexpr int mib = 256;
  // The virtio disk whose serial is the setting's name (the tiny guest has no by-id links).
  const std::string script = std::string("d=/dev/$(basename $(dirname $(grep -lx ") + setting.name +
                             " /sys/block/vd*/serial))); a=$(cut -d' ' -f1 /proc/uptime); "
                             "dd if=/dev/zero of=$d" +
                             " bs=1M count=" + std::to_string(mib) +
                             " conv=fsync 2>/dev/null; b=$(cut -d' ' -f1 /proc/uptime); "
                             "echo $a $b";
  for (auto _ : state) {
    const auto out = guest().exec("io", script);
    const auto space = out.find(' ');
    const double seconds = std::stod(out.substr(space + 1)) - std::stod(out.substr(0, space));
    state.SetIterationTime(seconds > 0 ? seconds : 0.01);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * mib * (1LL << 20));
}

const bool registered = [] {
  for (const auto& s : settings())
    benchmark::RegisterBenchmark((std::string("BM_DiskWrite_") + s.name).c_str(),
                                 BM_GuestSequentialWrite, s)
        ->Iterations(3)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  return true;
}();

} // namespace
