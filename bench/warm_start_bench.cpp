// Warm starts: clones of a saved template beside a cold `kvmrun up` of the same guest, in one
// run. The guest is the built-in default lab's (debian-12, 2 CPUs, 1 GiB, a 1 GiB data disk);
// everything runs through the kvmrun binary, timed from exec to exit:
//   cold       `kvmrun up debian` on a fresh disk (boot, cloud-init, every gate)
//   save       `kvmrun template save debian warm` (pause, state file, disks copied, record)
//   clone      `kvmrun up clone-1`, KVMRUN_WARM_ROUNDS times (default 5), each on a fresh overlay
//   eight      `kvmrun up clone-1 ... clone-8` at once; each clone's time to ready from the run's
//              evidence (its last gate's end)
// And what bounds a restore: the bytes the clone's QEMU read (/proc/PID/io rchar), its page
// faults and its CPU time (/proc/PID/stat) once it is ready, beside the time this process takes to
// read the state file alone (hot in the page cache: the floor for any restore that reads it).
#include "bench/labs.hpp"
#include "bench/scratch.hpp"
#include "evidence/process_usage.hpp"
#include "metrics/collect.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>

namespace {

using namespace kvmrun;
using Clock = std::chrono::steady_clock;

int rounds() {
  const char* n = std::getenv("KVMRUN_WARM_ROUNDS");
  return n != nullptr ? std::max(1, std::atoi(n)) : 5;
}

std::string warm_lab() {
  std::string lab = "[lab]\nname = \"warm\"\n" + bench::debian12_image_section() + R"([defaults]
image = "debian-12"
cpus = 2
memory = "1GiB"
disk = "4GiB"
forwards = []
disks = [{ name = "data", size = "1GiB", filesystem = "ext4", mount = "/srv/data" }]
[defaults.cloud_init]
runcmd = ["echo provisioned by kvmrun > /var/tmp/kvmrun-provisioned"]
[instances.debian]
forwards = [{ host = 22400, guest = 22 }]
)";
  for (int i = 1; i <= 8; ++i)
    lab += "[instances.clone-" + std::to_string(i) +
           "]\ntemplate = \"warm\"\nforwards = [{ host = " + std::to_string(22400 + i) +
           ", guest = 22 }]\n";
  return lab;
}

double seconds_of(const std::function<void()>& body) {
  const auto start = Clock::now();
  body();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Each instance's time to ready (its last gate's end) from the start of the run `up` printed
// as its evidence (metrics::read_run, which `kvmrun metrics` reports from too).
std::vector<std::pair<std::string, double>> ready_s(const std::string& up_output) {
  const std::string key = "evidence: ";
  const auto at = up_output.find(key);
  if (at == std::string::npos)
    bench::fail("up printed no evidence directory:\n" + bench::tail(up_output));
  const auto from = at + key.size();
  auto run = metrics::read_run(up_output.substr(from, up_output.find('\n', from) - from));
  if (!run)
    bench::fail(run.error().describe());
  return run->ready;
}

// A running instance's QEMU pid, from `kvmrun status`.
pid_t qemu_pid(const bench::LabRun& lab, const std::string& instance) {
  std::string out;
  if (!lab.kvmrun({"status", instance}, std::chrono::minutes(1), &out))
    bench::fail("status failed: " + out);
  const auto at = out.find(" pid ");
  return at == std::string::npos ? -1 : static_cast<pid_t>(std::stol(out.substr(at + 5)));
}

struct ProcessIo {
  double rchar_mib = 0;
  double minflt = 0;
  double majflt = 0;
  double cpu_s = 0; // utime + stime
};
ProcessIo process_io(pid_t pid) {
  ProcessIo io;
  std::ifstream f("/proc/" + std::to_string(pid) + "/io");
  for (std::string key; f >> key;) {
    double value = 0;
    f >> value;
    if (key == "rchar:")
      io.rchar_mib = value / (1U << 20U);
  }
  if (auto u = evidence::process_usage(pid)) {
    io.minflt = static_cast<double>(u->minor_faults);
    io.majflt = static_cast<double>(u->major_faults);
    io.cpu_s = std::chrono::duration<double>(u->cpu()).count();
  }
  return io;
}

// Reads a file once with 1 MiB reads: how long the bytes alone take.
double read_seconds(const std::filesystem::path& file) {
  return seconds_of([&] {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    std::string buffer(1U << 20U, '\0');
    while (::read(fd, buffer.data(), buffer.size()) > 0) {
    }
    ::close(fd);
  });
}

void BM_WarmStart_Debian12(benchmark::State& state) {
  for (auto _ : state) {
    (void)_;
    try {
      const auto dir = bench::make_scratch_dir("warm");
      // The template lives in this lab's cache (the image comes from the shared build).
      bench::LabRun lab(dir, warm_lab(), {"up", "--stage", "image-cache", "debian"});
      std::string out;
      const double cold = seconds_of([&] {
        if (!lab.kvmrun({"up", "debian"}, std::chrono::minutes(15), &out))
          bench::fail("cold up failed:\n" + bench::tail(out));
      });
      const double save = seconds_of([&] {
        if (!lab.kvmrun({"template", "save", "debian", "warm"}, std::chrono::minutes(5), &out))
          bench::fail("template save failed:\n" + bench::tail(out));
      });
      const auto record =
          boost::json::parse(*read_file(dir / "cache" / "templates" / "warm" / "template.json"))
              .as_object();
      const auto& saved = record.at("save").as_object();
      const auto state_file = dir / "cache" / "templates" / "warm" / "state";

      std::vector<double> clone;
      ProcessIo io;
      for (int r = 0; r < rounds(); ++r) {
        clone.push_back(seconds_of([&] {
          if (!lab.kvmrun({"up", "clone-1"}, std::chrono::minutes(5), &out))
            bench::fail("clone up failed:\n" + bench::tail(out));
        }));
        io = process_io(qemu_pid(lab, "clone-1"));
        (void)lab.kvmrun({"down", "--purge-disks", "clone-1"}, std::chrono::minutes(2));
      }
      const double floor = read_seconds(state_file);

      std::vector<std::string> eight{"up"};
      for (int i = 1; i <= 8; ++i)
        eight.push_back("clone-" + std::to_string(i));
      const double all = seconds_of([&] {
        if (!lab.kvmrun(eight, std::chrono::minutes(10), &out))
          bench::fail("8 clones failed:\n" + bench::tail(out));
      });
      const auto ready = ready_s(out);
      double eight_cpu = 0;
      for (int i = 1; i <= 8; ++i)
        eight_cpu += process_io(qemu_pid(lab, "clone-" + std::to_string(i))).cpu_s;
      double last = 0;
      for (const auto& [name, seconds] : ready)
        last = std::max(last, seconds);

      state.SetIterationTime(median(clone));
      state.counters["cold_up_s"] = cold;
      state.counters["clone_up_median_s"] = median(clone);
      state.counters["clone_up_min_s"] = *std::min_element(clone.begin(), clone.end());
      state.counters["clone_up_max_s"] = *std::max_element(clone.begin(), clone.end());
      state.counters["clone_rounds"] = static_cast<double>(clone.size());
      state.counters["speedup"] = cold / median(clone);
      state.counters["eight_wall_s"] = all;
      state.counters["eight_last_ready_s"] = last;
      state.counters["save_s"] = save;
      state.counters["save_state_s"] = saved.at("save_ms").to_number<double>() / 1e3;
      state.counters["state_mib"] = saved.at("state_bytes").to_number<double>() / (1U << 20U);
      state.counters["ram_mib"] = saved.at("ram_bytes").to_number<double>() / (1U << 20U);
      state.counters["restore_rchar_mib"] = io.rchar_mib;
      state.counters["restore_minflt"] = io.minflt;
      state.counters["restore_majflt"] = io.majflt;
      state.counters["clone_qemu_cpu_s"] = io.cpu_s;
      state.counters["eight_qemu_cpu_s_per_clone"] = eight_cpu / 8;
      state.counters["state_read_floor_s"] = floor;
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  }
}

} // namespace

BENCHMARK(BM_WarmStart_Debian12)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
