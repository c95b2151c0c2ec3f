// Time to a ready guest: `kvmrun up` (returns once every readiness gate has passed) beside the
// same guest started by hand: overlays made with qemu-img, then QEMU with the argv kvmrun used
// (sockets by path instead of inherited descriptors, the serial console on a pipe), ready when
// the guest prints its ready marker. Each pair alternates which side goes first, so drift on the
// host hits both alike; the overhead is the median of the pairs' ratios.
//
// The comparison leans against kvmrun: the by-hand side gets its seed ISO for free, stops at the
// marker (kvmrun's gates check the agent, ports, addresses, disks and cloud-init's result after
// it) and is never torn down inside the timed part; kvmrun's side is the whole `kvmrun up`
// process, from exec to exit. Base images are cached for both (one untimed `up` first).
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "evidence/run_evidence.hpp"
#include "host/dirs.hpp"

#include "bench/by_hand.hpp"
#include "bench/labs.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;
using bench::build_guest;
using bench::by_hand;
using bench::ByHand;
using bench::fail;
using bench::must_run;
using bench::tail;

constexpr std::string_view ready_marker = "kvmrun-ready instance-id=";
constexpr auto guest_deadline = 15min;

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The guest's own uptime when it printed the ready marker (cloud-init's final message carries it;
// the tiny guest's marker does not).
std::optional<double> marker_uptime(const std::string& console) {
  const auto at = console.find(ready_marker);
  const auto key = at == std::string::npos ? at : console.find(" uptime=", at);
  if (key == std::string::npos || console.find('\n', at) < key)
    return std::nullopt;
  return std::strtod(console.c_str() + key + 8, nullptr);
}

struct Timing {
  double seconds = 0;           // on the host, as the user waits
  std::optional<double> uptime; // the guest's, at the ready marker
};

// The kvmrun binary on a lab, with its state and runtime directories in `dir`.
class KvmrunLab {
public:
  KvmrunLab(std::filesystem::path dir, std::string lab, std::string instance,
            std::optional<std::string> toml)
      : m_dir(std::move(dir)), m_lab(std::move(lab)), m_instance(std::move(instance)) {
    std::filesystem::create_directories(m_dir);
    if (toml) {
      if (auto s = write_file_atomic(m_dir / "lab.toml", *toml); !s)
        fail(s.error().describe());
      m_config = m_dir / "lab.toml";
    }
  }

  // Seconds from exec to exit of `kvmrun up`.
  Timing up() const {
    const auto start = std::chrono::steady_clock::now();
    must_run(argv("up"));
    const double took = seconds(std::chrono::steady_clock::now() - start);
    const auto console = read_file(instance_state() / "serial.log");
    return {took, console ? marker_uptime(*console) : std::nullopt};
  }
  void down() const { must_run(argv("down", "--purge-disks")); }
  [[nodiscard]] std::filesystem::path instance_state() const {
    return m_dir / "state" / m_lab / m_instance;
  }

private:
  template <typename... Args> std::vector<std::string> argv(Args... args) const {
    // The working directory is `dir`: without --config, kvmrun.toml is looked for there, and
    // there is none, so kvmrun runs its built-in default lab.
    std::vector<std::string> a{"env",
                               "-C",
                               m_dir.string(),
                               "KVMRUN_STATE_DIR=" + (m_dir / "state").string(),
                               "KVMRUN_RUNTIME_DIR=" + (m_dir / "run").string(),
                               KVMRUN_BINARY};
    if (!m_config.empty())
      a.push_back("--config=" + m_config.string());
    (a.emplace_back(args), ...);
    return a;
  }

  std::filesystem::path m_dir;
  std::string m_lab;
  std::string m_instance;
  std::filesystem::path m_config;
};

// Seconds from the first qemu-img to the ready marker on the guest's serial console.
Timing run_by_hand(const ByHand& hand, const std::filesystem::path& dir) {
  for (const auto& path : hand.created)
    if (path.extension() == ".qcow2")
      std::filesystem::remove(path);
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".sock")
      std::filesystem::remove(entry.path());

  const auto start = std::chrono::steady_clock::now();
  for (const auto& create : hand.disks)
    must_run(create);
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    fail("pipe2 failed");
  UniqueFd reader(ends[0]);
  UniqueFd writer(ends[1]);
  const auto pid = spawn_background(hand.qemu, BackgroundOptions{{}, writer.get(), true, true});
  if (!pid)
    fail(pid.error().describe());
  writer.reset();

  std::string seen;
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() - start < guest_deadline) {
    pollfd p{reader.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0)
      continue;
    char buf[4096];
    const auto n = ::read(reader.get(), buf, sizeof buf);
    if (n <= 0)
      break; // QEMU exited
    seen.append(buf, static_cast<std::size_t>(n));
    // Ready once the marker's line is complete (kvmrun's gate, too, reads the whole marker).
    const auto at = seen.find(ready_marker);
    ready = at != std::string::npos && seen.find('\n', at) != std::string::npos;
    if (!ready && seen.size() > (1U << 20U))
      seen.erase(0, seen.size() - ready_marker.size());
  }
  const double took = seconds(std::chrono::steady_clock::now() - start);
  ::kill(*pid, SIGKILL);
  ::waitpid(*pid, nullptr, 0);
  if (!ready)
    fail("the guest started by hand never printed its ready marker:\n" + tail(seen));
  return {took, marker_uptime(seen)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void compare(benchmark::State& state, const KvmrunLab& lab, const std::filesystem::path& dir) {
  // Untimed: the first `up` fetches and verifies the base image; its argv and seed are what the
  // by-hand side uses, and its by-hand files are made once.
  lab.up();
  const ByHand hand = by_hand(lab.instance_state(), dir / "by-hand");
  lab.down();

  std::vector<double> ours;
  std::vector<double> theirs;
  std::vector<double> ratios;
  std::vector<double> our_uptimes;
  std::vector<double> their_uptimes;
  std::vector<double> outside; // per pair: kvmrun's host time beyond the guest's uptime, minus
                               // the by-hand one (what is left once the guest's own boot
                               // variance is taken out)
  for (auto _ : state) {
    const bool kvmrun_first = ours.size() % 2 == 0;
    const Timing hand_first = kvmrun_first ? Timing{} : run_by_hand(hand, dir / "by-hand");
    const Timing k = lab.up();
    lab.down();
    const Timing h = kvmrun_first ? run_by_hand(hand, dir / "by-hand") : hand_first;
    state.SetIterationTime(k.seconds);
    ours.push_back(k.seconds);
    theirs.push_back(h.seconds);
    ratios.push_back(k.seconds / h.seconds);
    if (k.uptime && h.uptime) {
      our_uptimes.push_back(*k.uptime);
      their_uptimes.push_back(*h.uptime);
      outside.push_back((k.seconds - *k.uptime) - (h.seconds - *h.uptime));
    }
  }
  state.counters["pairs"] = static_cast<double>(ours.size());
  state.counters["kvmrun_median_s"] = median(ours);
  state.counters["by_hand_median_s"] = median(theirs);
  state.counters["overhead_pct"] = (median(ratios) - 1) * 100;
  state.counters["overhead_min_pct"] = (*std::min_element(ratios.begin(), ratios.end()) - 1) * 100;
  state.counters["overhead_max_pct"] = (*std::max_element(ratios.begin(), ratios.end()) - 1) * 100;
  if (!our_uptimes.empty()) {
    state.counters["kvmrun_guest_uptime_s"] = median(our_uptimes);
    state.counters["by_hand_guest_uptime_s"] = median(their_uptimes);
    state.counters["outside_guest_overhead_s"] = median(outside);
    state.counters["outside_guest_overhead_pct"] = median(outside) / median(theirs) * 100;
  }
}

void run(benchmark::State& state,
         const std::function<KvmrunLab(const std::filesystem::path&)>& make_lab) {
  const auto dir = kvmrun::bench::make_scratch_dir("ready");
  std::optional<KvmrunLab> lab;
  try {
    std::filesystem::create_directories(dir / "by-hand");
    lab.emplace(make_lab(dir / "kvmrun"));
    compare(state, *lab, dir);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    try {
      if (lab)
        lab->down(); // an instance a failed pair left running
    } catch (const std::exception&) {
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The tiny guest (busybox initramfs on Debian's kernel): the gates cost the most here, relatively.
void BM_ReadyOverhead_Tiny(benchmark::State& state) {
  run(state, [](const std::filesystem::path& dir) {
    return KvmrunLab(dir, "bench", "tiny",
                     "[lab]\nname = \"bench\"\n" + bench::tiny_image_section() + R"([instances.tiny]
image = "tiny"
cpus = 1
memory = "256MiB"
disks = [{ name = "data", size = "64MiB", mount = "/srv/data" }]
)");
  });
}

// The built-in default lab (`kvmrun up` with no configuration): a debian-12 guest with
// cloud-init, SSH forwarded and a data disk.
void BM_ReadyOverhead_Debian12(benchmark::State& state) {
  run(state, [](const std::filesystem::path& dir) {
    build_guest("debian-12");
    return KvmrunLab(dir, "default", "debian", std::nullopt);
  });
}

int pairs(int fallback) {
  const char* n = std::getenv("KVMRUN_BENCH_PAIRS");
  return n != nullptr ? std::max(1, std::atoi(n)) : fallback;
}

BENCHMARK(BM_ReadyOverhead_Tiny)->Iterations(pairs(10))->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_ReadyOverhead_Debian12)
    ->Iterations(pairs(5))
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

} // namespace
