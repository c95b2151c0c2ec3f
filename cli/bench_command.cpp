// `kvmrun bench cold [INSTANCE...] [--runs N] [--accel MODE]`: cold runs of the lab, one after
// another: the instances' state removed (disks, seed, logs; never the image cache, never an
// instance the lab does not declare), `up` to every gate passed, then `down`. apt update and
// upgrade are off in every run, so that runs compare. The artefacts (evidence/cold_bench.hpp)
// go to <state>/<lab>/bench/<time>-<pid>/; `kvmrun report` reads that directory.
#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "evidence/cold_bench.hpp"
#include "evidence/process_usage.hpp"
#include "evidence/stopwatch.hpp"
#include "host/preflight.hpp"
#include "instance/qemu_process.hpp"

#include <boost/json.hpp>

#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <sstream>

namespace kvmrun::cli {

namespace {

using evidence::ColdBench;
using evidence::ColdRun;
using evidence::Stopwatch;

Result<int> runs_option(const ParsedArgs& args) {
  const std::string text = args.value("--runs").value_or("3");
  int runs = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), runs);
  if (ec != std::errc() || end != text.data() + text.size() || runs < 1 || runs > 1000)
    return Error(ErrorCode::usage, "--runs '" + text + "' is not a number of runs",
                 "give 1 to 1000, e.g. --runs 5");
  return runs;
}

std::string machine_text(const CliEnvironment& env, host::Accel requested) {
  const auto facts = host::gather_host_facts(host_paths(env));
  const auto report = host::evaluate_preflight(facts, requested);
  utsname u{};
  ::uname(&u);
  std::string text = std::to_string(::sysconf(_SC_NPROCESSORS_ONLN));
  text += " CPUs, ";
  text += u.sysname;
  text += " ";
  text += u.release;
  text += ", ";
  text += facts.qemu.version_line.empty() ? std::string("QEMU not found") : facts.qemu.version_line;
  text += ", ";
  text += host::to_string(report.accel.chosen);
  return text;
}

// The same options for the `up` and `down` each run does as the bench was given.
ParsedArgs command_args(const ParsedArgs& bench, std::string command,
                        std::vector<std::string> names, bool with_accel) {
  ParsedArgs a;
  a.command = std::move(command);
  a.positional = std::move(names);
  if (auto config = bench.value("--config"))
    a.options["--config"] = *config;
  if (auto accel = bench.value("--accel"); accel && with_accel)
    a.options["--accel"] = *accel;
  return a;
}

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

class ColdBenchRun {
public:
  ColdBenchRun(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env, evidence::EventStream* stream)
      : m_args(args), m_out(out), m_err(err), m_env(env), m_stream(stream) {}

  [[nodiscard]] std::string dir() const { return m_dir.string(); }

  int run() {
    auto runs = runs_option(m_args);
    if (!runs)
      return fail(m_err, runs.error());
    const auto accel = accel_option(m_args);
    if (!accel)
      return fail(m_err, accel.error());
    const std::vector<std::string> names(m_args.positional.begin() + 1, m_args.positional.end());
    auto ctx = open_lab(m_args, m_env, names);
    if (!ctx)
      return fail(m_err, ctx.error());
    m_ctx = std::move(ctx).value();
    for (const auto* i : m_ctx.selected) {
      m_names.push_back(i->name);
      const auto live = instance::probe_instance(m_ctx.paths(*i), m_ctx.lab.name, i->name);
      if (live.state == instance::Liveness::State::foreign)
        return fail(m_err, instance::held_by_another(i->name, live));
      if (live.state == instance::Liveness::State::running)
        return fail(m_err, Error(ErrorCode::busy,
                                 "instance '" + i->name + "' is running (QEMU pid " +
                                     std::to_string(*live.pid) +
                                     "); a cold run removes it and starts from nothing",
                                 "stop it first: kvmrun down " + i->name +
                                     " (and keep what you need from its disks)"));
    }
    std::string id = evidence::iso_time(std::chrono::system_clock::now());
    std::replace(id.begin(), id.end(), ':', '-');
    m_dir = m_ctx.lab_evidence() / "bench" / (id + "-" + std::to_string(::getpid()));
    if (auto made = create_private_dirs(m_dir); !made)
      return fail(m_err, std::move(made).error().add_context("creating the bench directory"));

    m_bench.lab = m_ctx.lab.name;
    m_bench.instances = m_names;
    m_bench.command = "kvmrun bench cold --runs " + std::to_string(*runs);
    for (const auto& n : names)
      m_bench.command += " " + n;
    m_bench.machine = machine_text(m_env, *accel);
    m_bench.planned = *runs;
    header();

    int rc = 0;
    for (int r = 1; r <= *runs && rc == 0; ++r)
      rc = one_run(r, *runs);
    const auto written = write_artefacts();
    if (!written) {
      (void)fail(m_err, written.error());
      if (rc == 0)
        rc = exit_code(written.error().code());
    }
    m_out << "artefacts: " << m_dir.string() << " (kvmrun report " << m_dir.string() << ")\n";
    return rc;
  }

private:
  void header() {
    m_out << "bench cold: lab " << m_ctx.lab.name << ", " << m_bench.planned
          << " run(s) of `up` to every gate passed, then `down`\n  machine: " << m_bench.machine
          << "\n  removed before each run:";
    for (const auto* i : m_ctx.selected)
      m_out << " " << m_ctx.paths(*i).state.string();
    m_out << " (the image cache stays)\n";
    std::string turned_off;
    for (const auto* i : m_ctx.selected)
      if (i->seed.package_update || i->seed.package_upgrade)
        turned_off += " " + i->name;
    m_out << "  apt update/upgrade: off in every run, for comparability"
          << (turned_off.empty() ? std::string(" (the lab has them off)")
                                 : "; the lab turns them on for" + turned_off)
          << "\n"
          << std::flush;
  }

  Status remove_state() {
    for (const auto* i : m_ctx.selected) {
      std::error_code ec;
      std::filesystem::remove_all(m_ctx.paths(*i).state, ec);
      if (ec)
        return Error(ErrorCode::io,
                     "removing " + m_ctx.paths(*i).state.string() +
                         " before a cold run: " + ec.message(),
                     "check the directory's permissions; nothing else was touched");
    }
    return {};
  }

  void progress(const std::string& text) {
    if (m_env.stderr_is_terminal)
      m_err << "\r\033[K" << text << std::flush;
  }

  int one_run(int number, int planned) {
    const std::string label = "run " + std::to_string(number) + "/" + std::to_string(planned);
    const auto run_dir = m_dir / ("run-" + std::to_string(number));
    if (auto s = create_private_dirs(run_dir); !s)
      return fail(m_err, s.error());
    if (auto s = remove_state(); !s)
      return fail(m_err, s.error());
    progress(label + ": up...");
    if (m_stream != nullptr)
      m_stream->start("run", "run " + std::to_string(number), "");

    ColdRun run;
    run.number = number;
    run.outcome = "failed";
    std::filesystem::path evidence_dir;
    UpHooks hooks;
    hooks.stream = m_stream;
    hooks.adjust_lab = [&](lab::LabSpec& lab) {
      for (auto& i : lab.instances) {
        i.seed.package_update = false;
        i.seed.package_upgrade = false;
      }
    };
    hooks.finished = [&](const std::filesystem::path& dir,
                         std::vector<evidence::TimingEvent> events) {
      evidence_dir = dir;
      run.events = std::move(events);
    };
    std::ostringstream up_log;
    if (auto s = evidence::reset_own_peak_rss(); !s)
      return fail(m_err, s.error());
    const auto before = evidence::own_usage();
    const Stopwatch watch;
    run.started = watch.wall;
    const int up_rc =
        run_up_hooked(command_args(m_args, "up", m_names, true), up_log, up_log, m_env, hooks);
    run.up = watch.elapsed();
    const auto after = evidence::own_usage();
    run.kvmrun = {after.user - before.user, after.system - before.system, after.peak_rss_kib};
    if (up_rc == 0)
      for (const auto* i : m_ctx.selected)
        if (const auto pid = instance::running_pid(m_ctx.paths(*i), m_ctx.lab.name, i->name))
          if (auto u = evidence::process_usage(*pid)) {
            run.qemu.user += u->user;
            run.qemu.system += u->system;
            run.qemu.peak_rss_kib += u->peak_rss_kib;
          }
    keep(run_dir / "up.log", up_log.str());
    for (const char* file : {"timings.jsonl", "timings.csv"})
      if (!evidence_dir.empty())
        if (auto bytes = read_file(evidence_dir / file))
          keep(run_dir / file, *bytes);

    progress(label + ": down...");
    std::ostringstream down_log;
    const Stopwatch down_watch;
    const int down_rc =
        down_lab(command_args(m_args, "down", m_names, false), down_log, down_log, m_env, m_stream);
    run.down = down_watch.elapsed();
    keep(run_dir / "down.log", down_log.str());
    progress("");
    if (up_rc == 0 && down_rc == 0)
      run.outcome = "ok";
    m_out << label << ": " << (up_rc == 0 ? "up " + ms_text(run.up) : std::string("up FAILED"))
          << ", kvmrun CPU " << run.kvmrun.cpu().count() / 1000 << " ms, peak RSS "
          << run.kvmrun.peak_rss_kib << " KiB; QEMU CPU " << run.qemu.cpu().count() / 1000
          << " ms; down " << (down_rc == 0 ? ms_text(run.down) : std::string("FAILED")) << "\n"
          << std::flush;
    if (m_stream != nullptr)
      m_stream->end(evidence::TimingEvent{"run", "run " + std::to_string(number), "", run.started,
                                          run.up + run.down, run.outcome,
                                          "up " + ms_text(run.up) + ", down " + ms_text(run.down)});
    m_bench.runs.push_back(std::move(run));
    if (up_rc != 0 || down_rc != 0) {
      m_err << "kvmrun: error: " << label << " failed: `" << (up_rc != 0 ? "up" : "down")
            << "` exited with " << (up_rc != 0 ? up_rc : down_rc) << ". Remedy: see "
            << (run_dir / (up_rc != 0 ? "up.log" : "down.log")).string() << "\n";
      return up_rc != 0 ? up_rc : down_rc;
    }
    return 0;
  }

  void keep(const std::filesystem::path& file, std::string_view bytes) {
    if (auto s = write_file_atomic(file, bytes, 0600, Durability::regenerated); !s && !m_failure)
      m_failure = std::move(s).error();
  }

  Status write_artefacts() {
    keep(m_dir / "time.txt", evidence::cold_time_text(m_bench));
    keep(m_dir / "summary.json", boost::json::serialize(evidence::cold_summary(m_bench)) + "\n");
    if (m_failure)
      return Error(*m_failure).add_context("writing the bench artefacts in " + m_dir.string());
    return {};
  }

  const ParsedArgs& m_args;
  std::ostream& m_out;
  std::ostream& m_err;
  const CliEnvironment& m_env;
  LabContext m_ctx;
  std::vector<std::string> m_names;
  std::filesystem::path m_dir;
  ColdBench m_bench;
  std::optional<Error> m_failure;
  evidence::EventStream* m_stream;
};

} // namespace

int run_bench(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env) {
  if (args.positional.empty() || args.positional.front() != "cold")
    return fail(err, Error(ErrorCode::usage,
                           args.positional.empty()
                               ? "bench needs a benchmark"
                               : "unknown benchmark '" + args.positional.front() + "'",
                           "use: kvmrun bench cold [INSTANCE...] [--runs N]"));
  return run_streamed(args, out, err,
                      [&](std::ostream& human, evidence::EventStream* stream, std::string& dir) {
                        ColdBenchRun bench(args, human, err, env, stream);
                        const int rc = bench.run();
                        dir = bench.dir();
                        return rc;
                      });
}

} // namespace kvmrun::cli
