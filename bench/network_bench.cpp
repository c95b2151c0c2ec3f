// Lab networks: what kvmrun's switch costs. Host-side with synthetic frames: a 64-byte frame's
// round trip between two member ports through the real switch process, beside the same ping-pong
// straight between the two datagram sockets (the floor any datagram switch has), and frames per
// second one way. Guest-side: ping between two tiny guests (TCG) through the switch, beside a
// ping from the guest to user networking's gateway (10.0.2.2), and beside the same two guests
// started by hand from kvmrun's recorded argv with VDE's vde_switch (-netdev vde) instead.
// Each guest benchmark runs its own pair alone, so no pair's load falls on another's figure.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "host/dirs.hpp"
#include "network/switch.hpp"

#include "bench/by_hand.hpp"
#include "bench/labs.hpp"
#include "bench/latency.hpp"
#include "bench/scratch.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <regex>
#include <stdexcept>
#include <thread>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;

const std::filesystem::path& scratch() {
  static const auto dir = bench::make_scratch_dir("network");
  return dir;
}

sockaddr_un address(const std::filesystem::path& p) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, p.c_str(), sizeof sa.sun_path - 1);
  return sa;
}

// A member's datagram port, as QEMU's -netdev dgram has it.
struct Port {
  UniqueFd fd;
  sockaddr_un to{};
  Port(const std::filesystem::path& path, const std::filesystem::path& peer) {
    std::filesystem::create_directories(path.parent_path());
    fd = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const auto self = address(path);
    ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&self), sizeof self) != 0)
      throw std::runtime_error("bind " + path.string());
    to = address(peer);
  }
  void send(const std::string& f) const {
    (void)::sendto(fd.get(), f.data(), f.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                   sizeof to);
  }
  bool receive(std::string& buf, int timeout_ms = 1000) const {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1)
      return false;
    return ::recv(fd.get(), buf.data(), buf.size(), 0) > 0;
  }
};

std::string frame(char dst, char src, std::size_t size) {
  std::string f(size, 'x');
  f.replace(0, 12, std::string("\x52\0\0\0\0", 5) + dst + std::string("\x52\0\0\0\0", 5) + src);
  return f;
}

// The real switch (kvmrun switch), members a and b, for one benchmark.
struct RunningSwitch {
  network::SwitchSpec spec;
  explicit RunningSwitch(const std::string& tag)
      : spec{scratch() / tag / "lab", "app", {"a", "b"}} {
    auto pid = network::start_switch(KVMRUN_BINARY, spec, scratch() / tag / "switch.log", true,
                                     std::nullopt, deadline_after(10s));
    if (!pid)
      throw std::runtime_error(pid.error().describe());
  }
  ~RunningSwitch() { (void)network::stop_switch(spec.lab_runtime, spec.network, 5s); }
  [[nodiscard]] std::filesystem::path port(const std::string& m) const {
    return network::port_socket(spec.lab_runtime / m, spec.network);
  }
  [[nodiscard]] std::filesystem::path socket() const {
    return network::switch_paths(spec.lab_runtime, spec.network).socket();
  }
};

void ping_pong(benchmark::State& state, const Port& a, const Port& b) {
  const std::string there = frame('B', 'A', 64), back = frame('A', 'B', 64);
  std::string buf(2048, '\0');
  // Teach the switch both MACs first, so every timed frame is a learnt unicast.
  for (int i = 0; i < 3; ++i) {
    a.send(there);
    (void)b.receive(buf);
    b.send(back);
    (void)a.receive(buf);
  }
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    a.send(there);
    if (!b.receive(buf))
      throw std::runtime_error("a frame was lost");
    b.send(back);
    if (!a.receive(buf))
      throw std::runtime_error("a frame was lost");
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  bench::report_latency(state, us);
}

void BM_LanRoundTrip_KvmrunSwitch(benchmark::State& state) {
  const RunningSwitch sw("rtt");
  const Port a(sw.port("a"), sw.socket()), b(sw.port("b"), sw.socket());
  ping_pong(state, a, b);
}

void BM_LanRoundTrip_DirectDatagrams(benchmark::State& state) {
  const auto dir = scratch() / "direct";
  const Port a(dir / "a.sock", dir / "b.sock"), b(dir / "b.sock", dir / "a.sock");
  ping_pong(state, a, b);
}

// One way, as fast as the sender can: frames that arrive per second (the switch drops what a
// full receiver queue cannot take, as a switch under load does).
void BM_LanFrames_KvmrunSwitch(benchmark::State& state) {
  const RunningSwitch sw("rate");
  const Port a(sw.port("a"), sw.socket()), b(sw.port("b"), sw.socket());
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::string f = frame('B', 'A', size);
  std::string buf(65536, '\0');
  b.send(frame('A', 'B', 64)); // learn B
  (void)a.receive(buf);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> received{0};
  std::thread reader([&] {
    std::string rbuf(65536, '\0');
    while (!done)
      if (b.receive(rbuf, 50))
        ++received;
  });
  std::uint64_t sent = 0;
  for (auto _ : state) {
    a.send(f);
    ++sent;
  }
  std::this_thread::sleep_for(200ms); // let the last frames arrive
  done = true;
  reader.join();
  state.counters["delivered_frames_per_s"] =
      benchmark::Counter(static_cast<double>(received), benchmark::Counter::kIsRate);
  state.counters["delivered_share"] =
      sent > 0 ? static_cast<double>(received) / static_cast<double>(sent) : 0.0;
  state.SetBytesProcessed(static_cast<std::int64_t>(received * size));
}

// Two tiny guests on a lab network (TCG), through the kvmrun binary.
class TinyLan {
public:
  explicit TinyLan(const std::string& tag)
      : m_lab(
            scratch() / tag,
            "[lab]\nname = \"bench\"\n" + bench::tiny_image_section() +
                "[networks.app]\nsubnet = \"192.168.122.0/24\"\n"
                "[defaults]\nimage = \"tiny\"\ncpus = 1\nmemory = \"256MiB\"\n"
                "timeouts = { shutdown = \"3s\" }\n"
                "[instances.a]\nnetworks = [{ name = \"app\", address = \"192.168.122.11\" }]\n"
                "[instances.b]\nnetworks = [{ name = \"app\", address = \"192.168.122.12\" }]\n") {}
  // Stops the guests and keeps their disks, seeds and recorded argv (for a start by hand).
  void stop() { m_lab.stop(); }
  [[nodiscard]] std::filesystem::path instance_state(const std::string& name) const {
    return m_lab.instance_state("bench", name);
  }

  // The average round trip ping reports, in microseconds, for `count` pings to `to` from a.
  double ping(const std::string& to, int count) {
    return average_rtt_us(m_lab.exec("a", ping_command(to, count), 2min));
  }
  static std::string ping_command(const std::string& to, int count) {
    return "ping -q -c " + std::to_string(count) + " -i 0.2 " + to;
  }
  static double average_rtt_us(const std::string& out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex(R"(= [0-9.]+/([0-9.]+)/)")))
      throw std::runtime_error("no round-trip summary in: " + out);
    return std::stod(m[1]) * 1000.0;
  }

private:
  bench::LabRun m_lab;
};

void report_rtt(benchmark::State& state, double avg_us) {
  state.counters["median_us"] = avg_us; // ping reports the average of its 20 round trips
  state.counters["p99_us"] = avg_us;
}

void guest_ping(benchmark::State& state, const std::string& to) {
  TinyLan lan(std::string("kvmrun-") + (to.rfind("10.", 0) == 0 ? "user" : "switch"));
  double avg_us = 0;
  for (auto _ : state) {
    avg_us = lan.ping(to, 20);
    state.SetIterationTime(avg_us / 1e6);
  }
  report_rtt(state, avg_us);
}

// A guest started by hand from kvmrun's recorded argv, its lab NIC on `netdev` instead.
class HandStarted {
public:
  HandStarted(const std::filesystem::path& instance_state, const std::filesystem::path& dir,
              const std::string& netdev)
      : m_dir(dir) {
    std::filesystem::create_directories(dir);
    auto hand = bench::by_hand(instance_state, dir);
    for (auto& arg : hand.qemu)
      if (arg.rfind("dgram,id=lan-app,", 0) == 0)
        arg = netdev;
    for (const auto& create : hand.disks)
      bench::must_run(create);
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0)
      bench::fail("pipe2 failed");
    m_console = UniqueFd(ends[0]);
    UniqueFd writer(ends[1]);
    auto pid = spawn_background(hand.qemu, BackgroundOptions{{}, writer.get(), true, true});
    if (!pid)
      bench::fail(pid.error().describe());
    m_pid = *pid;
  }
  ~HandStarted() {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  HandStarted(const HandStarted&) = delete;
  HandStarted& operator=(const HandStarted&) = delete;

  void wait_ready() {
    std::string seen;
    const auto until = std::chrono::steady_clock::now() + 5min;
    while (seen.find("kvmrun-ready") == std::string::npos) {
      pollfd p{m_console.get(), POLLIN, 0};
      if (std::chrono::steady_clock::now() > until || ::poll(&p, 1, 1000) < 0)
        bench::fail("a guest started by hand never got ready:\n" + bench::tail(seen));
      char buf[4096];
      const auto n = ::read(m_console.get(), buf, sizeof buf);
      if (n == 0)
        bench::fail("a guest started by hand exited:\n" + bench::tail(seen));
      if (n > 0)
        seen.append(buf, static_cast<std::size_t>(n));
    }
  }
  // A command in the guest through its agent (the socket by-hand starts put in `dir`).
  std::string run(const std::string& script) {
    EventLoop loop;
    qmp::AgentClient agent(loop);
    if (auto c = agent.connect(m_dir / "qga.sock"); !c)
      bench::fail(c.error().describe());
    Result<qmp::ExecStatus> r = Error(ErrorCode::timeout, "not run");
    for (int attempt = 0; attempt < 60 && !(r = qmp::guest_run(agent, "/bin/sh", {"-c", script},
                                                               deadline_after(60s)));
         ++attempt)
      std::this_thread::sleep_for(500ms); // the agent starts just after the ready marker
    if (!r || r->exit_code != 0)
      bench::fail(script + " failed in a guest started by hand: " +
                  (r ? r->out + r->err : r.error().describe()));
    return r->out;
  }

private:
  std::filesystem::path m_dir;
  UniqueFd m_console;
  pid_t m_pid = -1;
};

void BM_GuestPing_VdeSwitch(benchmark::State& state) {
  if (!find_executable("vde_switch")) {
    state.SkipWithError("vde_switch is not installed (scripts/setup-deps installs vde2)");
    return;
  }
  TinyLan lan("vde"); // kvmrun provisions the guests and records their argv once
  lan.stop();
  const auto dir = scratch() / "vde-by-hand";
  std::filesystem::create_directories(dir);
  const auto ctl = dir / "vde.ctl";
  bench::must_run({"vde_switch", "-s", ctl.string(), "-d", "-p", (dir / "vde.pid").string()});
  const std::string netdev = "vde,id=lan-app,sock=" + ctl.string();
  double avg_us = 0;
  {
    HandStarted a(lan.instance_state("a"), dir / "a", netdev);
    HandStarted b(lan.instance_state("b"), dir / "b", netdev);
    a.wait_ready();
    b.wait_ready();
    for (auto _ : state) {
      avg_us = TinyLan::average_rtt_us(a.run(TinyLan::ping_command("192.168.122.12", 20)));
      state.SetIterationTime(avg_us / 1e6);
    }
  }
  if (const auto pid = read_file(dir / "vde.pid"))
    ::kill(std::stoi(*pid), SIGTERM);
  report_rtt(state, avg_us);
}

void BM_GuestPing_KvmrunSwitch(benchmark::State& state) { guest_ping(state, "192.168.122.12"); }
void BM_GuestPing_UserNetworkGateway(benchmark::State& state) { guest_ping(state, "10.0.2.2"); }

} // namespace

BENCHMARK(BM_LanRoundTrip_KvmrunSwitch)
    ->Iterations(5000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LanRoundTrip_DirectDatagrams)
    ->Iterations(5000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LanFrames_KvmrunSwitch)->Arg(64)->Arg(1514)->Iterations(200000)->UseRealTime();
BENCHMARK(BM_GuestPing_KvmrunSwitch)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GuestPing_UserNetworkGateway)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GuestPing_VdeSwitch)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
