// How soon readiness is noticed where it can be watched: the serial console log followed as QEMU
// writes it (a real file, inotify, the watch the boot and cloud-init gates use). A writer thread
// appends a boot's worth of console a byte at a time, as QEMU does, and then the ready marker;
// the time from the marker's last byte to the watch's notice is the latency. The watch's CPU
// while the console is silent is measured too (it should sleep).
#include "base/file_io.hpp"
#include "readiness/serial_watch.hpp"

#include "bench/latency.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void BM_ReadinessNotice_SerialLog(benchmark::State& state) {
  const auto dir = bench::make_scratch_dir("readiness");
  const auto log = dir / "serial.log";
  std::vector<double> us;
  std::string boot;
  for (int i = 0; i < 200; ++i)
    boot += "[    1.234567] kernel line " + std::to_string(i) + " of a boot\r\n";
  int round = 0;
  for (auto _ : state) {
    (void)_;
    if (auto w = write_file_atomic(log, "", 0600, Durability::regenerated); !w)
      state.SkipWithError(w.error().describe().c_str());
    const std::string marker = "kvmrun-ready instance-id=" + std::to_string(++round);
    EventLoop loop;
    readiness::SerialWatch watch(loop);
    if (auto f = watch.follow(log, 0); !f) {
      state.SkipWithError(f.error().describe().c_str());
      break;
    }
    std::atomic<Clock::rep> written{0};
    std::thread guest([&] {
      const int fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      const std::string text = boot + marker + "\r\n";
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (::write(fd, &text[i], 1) != 1)
          break;
        if (i + 1 == text.size() - 2) // the marker's last byte
          written = Clock::now().time_since_epoch().count();
      }
      ::close(fd);
    });
    const bool found = watch.wait_for(marker, deadline_after(10s), [] { return false; });
    const auto noticed = Clock::now();
    guest.join();
    if (!found) {
      state.SkipWithError("the marker was not noticed");
      break;
    }
    const auto latency = noticed - Clock::time_point(Clock::duration(written.load()));
    us.push_back(std::chrono::duration<double, std::micro>(latency).count());
    state.SetIterationTime(std::chrono::duration<double>(latency).count());
  }
  bench::report_latency(state, us);

  // A silent console for a second: what the waiting costs.
  EventLoop loop;
  readiness::SerialWatch watch(loop);
  if (watch.follow(log, 0)) {
    rusage before{};
    rusage after{};
    ::getrusage(RUSAGE_THREAD, &before);
    (void)watch.wait_for("never", deadline_after(1s), [] { return false; });
    ::getrusage(RUSAGE_THREAD, &after);
    const auto cpu = [](const rusage& r) {
      return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 +
             static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
    };
    state.counters["idle_cpu_us_per_s"] = cpu(after) - cpu(before);
  }
}
BENCHMARK(BM_ReadinessNotice_SerialLog)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(30);

} // namespace
