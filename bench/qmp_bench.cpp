// QMP round trips against a real QEMU (-machine none, TCG): kvmrun's client beside a minimal
// C client (blocking socket, no JSON parsing) and a plain Python socket client, in the same
// run; one event loop driving eight QEMUs; and the framer's parse throughput.
#include "base/subprocess.hpp"
#include "base/unix_socket.hpp"
#include "qmp/framer.hpp"
#include "qmp/qmp_client.hpp"

#include "bench/latency.hpp"
#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace {

using namespace kvmrun;
using namespace std::chrono_literals;

// A QEMU with its QMP monitor on a socket created here and inherited as fd 3.
class Qemu {
public:
  explicit Qemu(const std::filesystem::path& dir) : m_socket(dir / "qmp.sock") {
    std::filesystem::create_directories(dir);
    auto listener = listen_unix(m_socket);
    if (!listener)
      throw std::runtime_error(listener.error().describe());
    m_pid = ::fork();
    if (m_pid == 0) {
      if (listener->get() == 3)
        ::fcntl(3, F_SETFD, 0);
      else
        ::dup2(listener->get(), 3);
      ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-nodefaults", "-no-user-config",
               "-machine", "none", "-accel", "tcg", "-display", "none", "-chardev",
               "socket,id=qmp,fd=3,server=on,wait=off", "-mon", "chardev=qmp,mode=control",
               nullptr);
      ::_exit(127);
    }
  }
  ~Qemu() {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  [[nodiscard]] const std::filesystem::path& socket() const { return m_socket; }

private:
  std::filesystem::path m_socket;
  pid_t m_pid = -1;
};

std::filesystem::path scratch() {
  static const std::filesystem::path dir = kvmrun::bench::make_scratch_dir("qmp");
  return dir;
}

void report(benchmark::State& state, const std::vector<double>& us) {
  kvmrun::bench::report_latency(state, us);
}

void BM_QmpRoundTrip_Kvmrun(benchmark::State& state) {
  if (!find_executable("qemu-system-x86_64")) {
    state.SkipWithError("qemu-system-x86_64 is not installed");
    return;
  }
  Qemu qemu(scratch() / "kvmrun");
  EventLoop loop;
  qmp::QmpClient client(loop);
  if (!client.connect_sync(qemu.socket(), deadline_after(30s)).ok()) {
    state.SkipWithError("cannot connect");
    return;
  }
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto r = client.execute_sync("query-status", {}, deadline_after(10s));
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r) {
      state.SkipWithError(r.error().describe().c_str());
      return;
    }
  }
  report(state, us);
}

// The floor: write the command, read until CRLF, nothing parsed. With `with_id`, the request
// carries an "id" member as kvmrun's do (QEMU 7.2 itself takes longer for such requests).
void minimal_c(benchmark::State& state, bool with_id) {
  if (!find_executable("qemu-system-x86_64")) {
    state.SkipWithError("qemu-system-x86_64 is not installed");
    return;
  }
  Qemu qemu(scratch() / "c");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, qemu.socket().c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    state.SkipWithError("cannot connect");
    return;
  }
  char buf[65536];
  std::string pending;
  const auto read_line = [&] {
    while (pending.find('\n') == std::string::npos) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        return false;
      pending.append(buf, static_cast<std::size_t>(n));
    }
    pending.erase(0, pending.find('\n') + 1);
    return true;
  };
  const std::string negotiate = "{\"execute\":\"qmp_capabilities\"}\r\n";
  std::string query = "{\"execute\":\"query-status\"}\r\n";
  std::uint64_t counter = 0;
  read_line();
  (void)::write(fd, negotiate.data(), negotiate.size());
  read_line();
  std::vector<double> us;
  for (auto _ : state) {
    if (with_id)
      query =
          "{\"execute\":\"query-status\",\"id\":\"kvmrun-" + std::to_string(++counter) + "\"}\r\n";
    const auto t0 = Clock::now();
    (void)::write(fd, query.data(), query.size());
    if (!read_line()) {
      state.SkipWithError("connection lost");
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  ::close(fd);
  report(state, us);
}

void BM_QmpRoundTrip_MinimalC(benchmark::State& s) { minimal_c(s, false); }
void BM_QmpRoundTrip_MinimalCWithId(benchmark::State& s) { minimal_c(s, true); }

// A plain Python socket client doing the same, timed in Python (one process, N commands).
void python_client(benchmark::State& state, bool with_id) {
  if (!find_executable("qemu-system-x86_64") || !find_executable("python3")) {
    state.SkipWithError("qemu-system-x86_64 or python3 is not installed");
    return;
  }
  Qemu qemu(scratch() / "python");
  const std::string script = R"(
import socket, sys, time, json
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rwb')
f.readline(); f.write(b'{"execute":"qmp_capabilities"}\r\n'); f.flush(); f.readline()
times = []
for i in range(int(sys.argv[2])):
    cmd = ('{"execute":"query-status","id":"kvmrun-%d"}\r\n' % i if sys.argv[3] == '1'
           else '{"execute":"query-status"}\r\n').encode()
    t0 = time.perf_counter()
    f.write(cmd); f.flush(); json.loads(f.readline())
    times.append((time.perf_counter() - t0) * 1e6)
times.sort()
print(times[len(times)//2], times[min(len(times)-1, len(times)*99//100)])
)";
  for (auto _ : state) {
    const auto r =
        run_command({"python3", "-c", script, qemu.socket().string(), "2000", with_id ? "1" : "0"},
                    CommandOptions{120s, 4096});
    if (!r || !r->success()) {
      state.SkipWithError("python client failed");
      return;
    }
    double median = 0, p99 = 0;
    std::sscanf(r->out.c_str(), "%lf %lf", &median, &p99);
    state.counters["median_us"] = median;
    state.counters["p99_us"] = p99;
  }
}

void BM_QmpRoundTrip_Python(benchmark::State& s) { python_client(s, false); }
void BM_QmpRoundTrip_PythonWithId(benchmark::State& s) { python_client(s, true); }

// One loop, eight QEMUs, one query-status outstanding on each at all times.
void BM_QmpRoundTrip_KvmrunEightQemus(benchmark::State& state) {
  if (!find_executable("qemu-system-x86_64")) {
    state.SkipWithError("qemu-system-x86_64 is not installed");
    return;
  }
  std::vector<std::unique_ptr<Qemu>> qemus;
  EventLoop loop;
  std::vector<std::unique_ptr<qmp::QmpClient>> clients;
  for (int i = 0; i < 8; ++i) {
    qemus.push_back(std::make_unique<Qemu>(scratch() / ("eight-" + std::to_string(i))));
    clients.push_back(std::make_unique<qmp::QmpClient>(loop));
    if (!clients.back()->connect_sync(qemus.back()->socket(), deadline_after(60s)).ok()) {
      state.SkipWithError("cannot connect");
      return;
    }
  }
  std::vector<double> us;
  for (auto _ : state) {
    // Each iteration: one round trip on each of the eight, all in flight at once.
    std::size_t done = 0;
    for (auto& c : clients) {
      const auto t0 = Clock::now();
      c->execute("query-status", {}, deadline_after(10s), [&, t0](Result<boost::json::value>) {
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        ++done;
      });
    }
    loop.run_until([&] { return done == clients.size(); }, deadline_after(30s));
  }
  report(state, us);
}

void BM_QmpParse_Framer(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 10000; ++i)
    stream +=
        R"({"return": {"status": "running", "singlestep": false, "running": true}, "id": "kvmrun-)" +
        std::to_string(i) + "\"}\r\n";
  for (auto _ : state) {
    qmp::LineFramer framer;
    std::vector<boost::json::object> out;
    out.reserve(10000);
    for (std::size_t i = 0; i < stream.size(); i += 4096)
      (void)framer.feed(std::string_view(stream).substr(i, 4096), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
  state.counters["messages_per_s"] = benchmark::Counter(
      10000.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_QmpRoundTrip_Kvmrun)->Iterations(3000)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QmpRoundTrip_MinimalC)->Iterations(3000)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QmpRoundTrip_MinimalCWithId)
    ->Iterations(3000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QmpRoundTrip_Python)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QmpRoundTrip_PythonWithId)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QmpRoundTrip_KvmrunEightQemus)
    ->Iterations(500)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QmpParse_Framer)->Unit(benchmark::kMillisecond);

} // namespace
