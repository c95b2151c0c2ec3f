// One debian-12 guest with the same seed documents (cloud-init), CPUs, memory, disk size and
// forwarded SSH port, brought up cold three ways in the same run, rounds alternating the order:
//   Kvmrun       `kvmrun up` (every gate passed)
//   Traditional  cloud-localds + qemu-img create -b + a hand-written QEMU command line + a shell
//                loop polling for the SSH banner and cloud-init's final message
//                (bench/chain/traditional, bench/chain/wait-ready)
//   Libvirt      qemu-img create -b + virt-install --import --cloud-init + the same shell loop,
//                against a libvirtd and virtlogd this benchmark starts and stops
//                (bench/chain/libvirt)
// For each: time until its QEMU process exists, until the SSH port answered, until cloud-init
// was done (kvmrun: its ports and cloud-init gates), until the orchestration exited; the host
// CPU time of the orchestrating processes (wait4 of the one started, with everything it
// reaped; libvirtd and virtlogd's CPU over the run added for Libvirt; QEMU never counted) and
// their peak RSS: /proc sampled every 20 ms, the largest sum over one sample of the VmHWM of
// each orchestrating process alive in it (libvirtd's and virtlogd's added for Libvirt). Needs root
// (libvirtd), and the debian-12 guest.
//   KVMRUN_BENCH_ROUNDS=3 (default)
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "evidence/process_usage.hpp"

#include "bench/labs.hpp"

#include <benchmark/benchmark.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;
using SysClock = std::chrono::system_clock;

constexpr const char* contenders[] = {"Kvmrun", "Traditional", "Libvirt"};
const std::filesystem::path root = "/var/lib/libvirt/images/kvmrun-bench"; // libvirt-qemu reads it
constexpr const char* domain = "kvmrun-bench-libvirt";

struct Run {
  SysClock::time_point t0;
  double qemu_s = 0, port_s = 0, cloud_init_s = 0, total_s = 0, cpu_ms = 0, peak_rss_mib = 0;
  double guest_uptime_s = 0; // the guest's own uptime in its ready marker
};

// "uptime=36.45" in the marker line of a serial log (the seed's final_message).
double marker_uptime(const std::string& log) {
  const auto at = log.find("kvmrun-ready instance-id=");
  const auto up = at == std::string::npos ? at : log.find("uptime=", at);
  return up == std::string::npos ? 0 : std::atof(log.c_str() + up + 7);
}

std::optional<std::string> read_small(const std::string& path) {
  auto r = read_file(path, 1U << 20U);
  return r ? std::optional(std::move(r).value()) : std::nullopt;
}

std::string text_of(const std::filesystem::path& file) {
  return read_small(file.string()).value_or("");
}

evidence::Usage usage_of(pid_t pid) {
  auto u = evidence::process_usage(pid);
  return u ? *u : evidence::Usage{};
}

// The processes of one contender, sampled from /proc: its descendants' VmHWM (QEMU excluded)
// and the moment a QEMU whose command line names the guest first exists.
class Sampler {
public:
  Sampler(pid_t top, std::string qemu_name, SysClock::time_point t0)
      : m_top(top), m_name(std::move(qemu_name)), m_t0(t0), m_thread([this] { loop(); }) {}
  ~Sampler() { stop(); }
  void stop() {
    m_stop = true;
    if (m_thread.joinable())
      m_thread.join();
  }
  [[nodiscard]] double qemu_s() const { return m_qemu_s; }
  // The largest sum, over one sample, of the peaks of the processes alive in it.
  [[nodiscard]] double peak_rss_kib() const { return static_cast<double>(m_peak_total); }
  [[nodiscard]] std::string peaks() const {
    std::string text;
    for (const auto& [pid, kib] : m_peak)
      text += " " + m_names.at(pid) + ":" + std::to_string(kib);
    return text;
  }

private:
  void loop() {
    m_mine.insert(m_top);
    while (!m_stop) {
      scan();
      std::this_thread::sleep_for(20ms);
    }
  }
  void scan() {
    DIR* d = ::opendir("/proc");
    if (d == nullptr)
      return;
    std::int64_t alive = 0;
    while (const dirent* e = ::readdir(d)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0)
        continue;
      const std::string proc = "/proc/" + std::to_string(pid);
      const auto now = SysClock::now();
      if (!m_seen.contains(pid)) {
        m_seen[pid] = now;
        const auto stat = read_small(proc + "/stat");
        const auto close = stat ? stat->rfind(')') : std::string::npos;
        const pid_t ppid = close == std::string::npos
                               ? 0
                               : static_cast<pid_t>(std::atoi(stat->c_str() + close + 4));
        if (m_mine.contains(ppid))
          m_mine.insert(pid);
      }
      // A fork becomes QEMU within moments of being seen: young processes are looked at again.
      if (m_qemu_s == 0 && now - m_seen[pid] < 2s)
        if (const auto cmdline = read_small(proc + "/cmdline");
            cmdline && cmdline->find("qemu-system-x86_64") != std::string::npos &&
            cmdline->find(m_name) != std::string::npos)
          m_qemu_s = std::chrono::duration<double>(now - m_t0).count();
      if (!m_mine.contains(pid))
        continue;
      const auto status = read_small(proc + "/status");
      if (!status)
        continue;
      if (status->starts_with("Name:\tqemu-system")) { // a fork of ours that became QEMU
        m_mine.erase(pid);
        m_peak.erase(pid);
        continue;
      }
      m_peak[pid] = std::max(m_peak[pid], evidence::parse_vm_hwm(*status));
      m_names[pid] = status->substr(6, status->find('\n') - 6);
      alive += m_peak[pid];
    }
    ::closedir(d);
    m_peak_total = std::max(m_peak_total, alive);
  }

  pid_t m_top;
  std::string m_name;
  SysClock::time_point m_t0;
  std::map<pid_t, SysClock::time_point> m_seen; // when each was first seen
  std::set<pid_t> m_mine;
  std::map<pid_t, std::int64_t> m_peak;
  std::map<pid_t, std::string> m_names;
  std::int64_t m_peak_total = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<double> m_qemu_s{0};
  std::thread m_thread;
};

double seconds_since(SysClock::time_point t0, double epoch_seconds) {
  return epoch_seconds - std::chrono::duration<double>(t0.time_since_epoch()).count();
}

// "2026-12-01T12:04:42.801Z" as seconds since the epoch.
double iso_epoch(const std::string& iso) {
  std::tm tm{};
  std::istringstream in(iso);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  const double ms = iso.size() > 23 ? std::atof(iso.c_str() + 20) : 0;
  return static_cast<double>(::timegm(&tm)) + ms / 1000.0;
}

// Starts argv with stdout to `out`, samples it, waits for it; fills the times and usage.
Run measure(const std::vector<std::string>& argv, const std::filesystem::path& out,
            const std::string& qemu_name, const std::vector<pid_t>& daemons) {
  std::vector<evidence::Usage> before;
  for (const pid_t d : daemons)
    before.push_back(usage_of(d));
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const auto t0 = SysClock::now();
  auto pid = spawn_background(argv, BackgroundOptions{{}, fd, false, true});
  ::close(fd);
  if (!pid)
    bench::fail(pid.error().describe());
  Sampler sampler(*pid, qemu_name, t0);
  int status = 0;
  rusage ru{};
  ::wait4(*pid, &status, 0, &ru);
  Run r;
  r.t0 = t0;
  r.total_s = std::chrono::duration<double>(SysClock::now() - t0).count();
  sampler.stop();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    bench::fail(argv.front() + " failed; its output is in " + out.string());
  r.qemu_s = sampler.qemu_s();
  r.cpu_ms = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  double rss = sampler.peak_rss_kib();
  for (std::size_t k = 0; k < daemons.size(); ++k) {
    const auto after = usage_of(daemons[k]);
    r.cpu_ms += static_cast<double>((after.cpu() - before[k].cpu()).count()) / 1e3;
    rss += static_cast<double>(after.peak_rss_kib);
  }
  r.peak_rss_mib = rss / 1024.0;
  if (std::getenv("KVMRUN_BENCH_VERBOSE") != nullptr)
    std::fprintf(stderr, "%s: peak VmHWM KiB per process:%s\n", argv.front().c_str(),
                 sampler.peaks().c_str());
  // wait-ready's lines: "port <epoch>", "cloud-init <epoch>".
  const auto text = text_of(out);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("port "))
      r.port_s = seconds_since(t0, std::atof(line.c_str() + 5));
    else if (line.starts_with("cloud-init "))
      r.cloud_init_s = seconds_since(t0, std::atof(line.c_str() + 11));
  }
  if (r.qemu_s == 0) // never the total in its place: a start that was not seen is not measured
    bench::fail(argv.front() + ": no QEMU named " + qemu_name + " was seen in /proc");
  return r;
}

class SideBySide {
public:
  SideBySide() {
    std::filesystem::create_directories(root);
    const auto guest = bench::build_guest("debian-12");
    m_base = root / "base.qcow2";
    // A copy, not a link: libvirt chowns the images it runs (and their backing files).
    std::error_code ec;
    std::filesystem::remove(m_base, ec);
    std::filesystem::copy_file(guest / "debian-12.qcow2", m_base);
    m_lab = bench::debian12_image_section() + R"([instances.vm]
image = "debian-12"
cpus = 2
memory = "1GiB"
disk = "4GiB"
forwards = [{ host = 2322, guest = 22 }]
[instances.vm.cloud_init]
runcmd = ["echo provisioned > /var/tmp/provisioned"]
)";
    m_lab = "[lab]\nname = \"sbs\"\n" + m_lab;
    const auto dir = root / "kvmrun";
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir);
    bench::must_run({"chmod", "0711", root.string()}); // libvirt-qemu passes through, no more
    if (auto w = write_file_atomic(dir / "lab.toml", m_lab); !w)
      bench::fail(w.error().describe());
    ::setenv("KVMRUN_STATE_DIR", (dir / "state").c_str(), 1);
    ::setenv("KVMRUN_RUNTIME_DIR", (dir / "run").c_str(), 1);
    // The seed documents kvmrun writes, for the other two: taken out of its seed ISO.
    bench::must_run(kvmrun({"up", "--stage", "provision"}));
    const auto seed = root / "seed";
    std::filesystem::remove_all(seed, ec);
    bench::must_run({"xorriso", "-osirrox", "on", "-indev",
                     (dir / "state" / "sbs" / "vm" / "seed.iso").string(), "-extract", "/",
                     seed.string()});
    bench::must_run({"chmod", "-R", "u+w,a+r", seed.string()});
    bench::must_run({"chmod", "0755", seed.string()});
    const auto network = text_of(seed / "network-config");
    const auto at = network.find("macaddress: \"");
    m_mac = network.substr(at + 13, 17);
    const auto meta = text_of(seed / "meta-data");
    const auto id = meta.substr(meta.find("instance-id: ") + 13);
    m_marker = "kvmrun-ready instance-id=" + id.substr(0, id.find('\n'));
    bench::must_run(kvmrun({"down", "--purge-disks"}));
    start_libvirt();
  }
  ~SideBySide() { stop_libvirt(); }

  Run run(const std::string& who) {
    if (who == "Kvmrun")
      return run_kvmrun();
    const auto work = root / who;
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
    std::filesystem::create_directories(work);
    std::vector<std::string> argv{KVMRUN_SOURCE_DIR "/bench/chain/" +
                                      std::string(who == "Libvirt" ? "libvirt" : "traditional"),
                                  work.string(),
                                  m_base.string(),
                                  (root / "seed").string(),
                                  who == "Libvirt" ? "2324" : "2323",
                                  m_mac,
                                  "2",
                                  "1024",
                                  "4G",
                                  m_marker};
    if (who == "Libvirt")
      argv.emplace_back(domain);
    Run r;
    try {
      r = measure(argv, root / (who + ".out"),
                  who == "Libvirt" ? std::string("guest=") + domain : "kvmrun-bench-chain",
                  who == "Libvirt" ? m_daemons : std::vector<pid_t>{});
    } catch (...) {
      teardown(who, work);
      throw;
    }
    teardown(who, work);
    r.guest_uptime_s = marker_uptime(text_of(work / "serial.log"));
    return r;
  }

private:
  [[nodiscard]] std::vector<std::string> kvmrun(std::vector<std::string> args) const {
    args.insert(args.begin(),
                {KVMRUN_BINARY, "--config=" + (root / "kvmrun" / "lab.toml").string()});
    return args;
  }

  Run run_kvmrun() {
    Run r = measure(kvmrun({"up"}), root / "Kvmrun.out", "guest=sbs/vm", {});
    // kvmrun's own record of when its gates passed.
    const auto jsonl =
        text_of(root / "kvmrun" / "state" / "sbs" / "runs" / "latest" / "timings.jsonl");
    std::istringstream lines(jsonl);
    std::string line;
    const auto t0 = r.t0;
    while (std::getline(lines, line)) {
      const auto e = boost::json::parse(line).as_object();
      if (e.at("kind").as_string() != "gate")
        continue;
      const double end = iso_epoch(std::string(e.at("end").as_string()));
      if (e.at("name").as_string() == "ports")
        r.port_s = seconds_since(t0, end);
      if (e.at("name").as_string() == "cloud-init")
        r.cloud_init_s = seconds_since(t0, end);
    }
    r.guest_uptime_s = marker_uptime(
        text_of(root / "kvmrun" / "state" / "sbs" / "runs" / "latest" / "vm" / "serial.log"));
    bench::must_run(kvmrun({"down", "--purge-disks"}));
    return r;
  }

  void teardown(const std::string& who, const std::filesystem::path& work) {
    if (who == "Libvirt") {
      (void)run_command({"virsh", "-c", "qemu:///system", "destroy", domain});
      (void)run_command({"virsh", "-c", "qemu:///system", "undefine", domain});
    } else if (const auto pid = read_small((work / "qemu.pid").string())) {
      const pid_t qemu = static_cast<pid_t>(std::atoi(pid->c_str()));
      if (qemu > 0) {
        ::kill(qemu, SIGTERM);
        (void)wait_exit(qemu, 30s);
      }
    }
  }

  static std::optional<pid_t> pid_of(const std::string& name) {
    const auto r = run_command({"pgrep", "-x", name});
    if (!r || !r->success())
      return std::nullopt;
    return static_cast<pid_t>(std::atoi(r->out.c_str()));
  }

  void start_libvirt() {
    (void)run_command({"virsh", "-c", "qemu:///system", "destroy", domain});
    (void)run_command({"virsh", "-c", "qemu:///system", "undefine", domain});
    for (const char* daemon : {"virtlogd", "libvirtd"}) {
      auto pid = pid_of(daemon);
      if (!pid) {
        bench::must_run({daemon, "-d"});
        m_started.emplace_back(daemon);
        for (int i = 0; i < 100 && !pid; ++i, std::this_thread::sleep_for(50ms))
          pid = pid_of(daemon);
      }
      if (!pid)
        bench::fail(std::string(daemon) + " did not start");
      m_daemons.push_back(*pid);
    }
    // libvirtd answers once its drivers are up.
    bench::must_run({"virsh", "-c", "qemu:///system", "version"});
  }
  void stop_libvirt() {
    for (const auto& daemon : m_started)
      if (const auto pid = pid_of(daemon)) {
        ::kill(*pid, SIGTERM);
        (void)wait_exit(*pid, 30s);
      }
  }

  std::string m_lab;
  std::filesystem::path m_base;
  std::string m_mac;
  std::string m_marker;
  std::vector<pid_t> m_daemons;
  std::vector<std::string> m_started;
};

int rounds() {
  const char* n = std::getenv("KVMRUN_BENCH_ROUNDS");
  return n != nullptr ? std::max(1, std::atoi(n)) : 3;
}

// Every contender's runs, measured once (by whichever benchmark asks first), rounds
// alternating the order: round k starts with contender k mod 3.
const std::map<std::string, std::vector<Run>>& results() {
  static std::map<std::string, std::vector<Run>> runs;
  static std::string error;
  static bool done = false;
  if (!done) {
    done = true;
    try {
      SideBySide bench;
      for (int k = 0; k < rounds(); ++k)
        for (int j = 0; j < 3; ++j) {
          const std::string who = contenders[(k + j) % 3];
          runs[who].push_back(bench.run(who));
        }
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (!error.empty())
    throw std::runtime_error(error);
  return runs;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty()      ? 0
         : v.size() % 2 ? v[v.size() / 2]
                        : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void report(benchmark::State& state, const std::string& who) {
  for (auto _ : state) {
    (void)_;
    try {
      const auto& runs = results().at(who);
      const auto med = [&](double Run::*field) {
        std::vector<double> v;
        for (const auto& r : runs)
          v.push_back(r.*field);
        return median(v);
      };
      state.SetIterationTime(med(&Run::total_s));
      state.counters["runs"] = static_cast<double>(runs.size());
      state.counters["qemu_started_s"] = med(&Run::qemu_s);
      state.counters["port_s"] = med(&Run::port_s);
      state.counters["cloud_init_s"] = med(&Run::cloud_init_s);
      state.counters["total_s"] = med(&Run::total_s);
      state.counters["cpu_ms"] = med(&Run::cpu_ms);
      state.counters["peak_rss_mib"] = med(&Run::peak_rss_mib);
      state.counters["guest_uptime_at_marker_s"] = med(&Run::guest_uptime_s);
      std::vector<double> totals;
      for (const auto& r : runs)
        totals.push_back(r.total_s);
      state.counters["total_min_s"] = *std::min_element(totals.begin(), totals.end());
      state.counters["total_max_s"] = *std::max_element(totals.begin(), totals.end());
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  }
}

void BM_SideBySide_Kvmrun(benchmark::State& state) { report(state, "Kvmrun"); }
void BM_SideBySide_Traditional(benchmark::State& state) { report(state, "Traditional"); }
void BM_SideBySide_Libvirt(benchmark::State& state) { report(state, "Libvirt"); }

} // namespace

BENCHMARK(BM_SideBySide_Kvmrun)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_SideBySide_Traditional)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_SideBySide_Libvirt)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
