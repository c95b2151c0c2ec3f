// `kvmrun up`: preflight -> image-cache -> provision -> runtime (QEMU + readiness gates), as
// stage_table says for each --stage.
#include "base/digest.hpp"
#include "base/file_digest.hpp"
#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/foreground.hpp"
#include "cli/lab_context.hpp"
#include "cli/lab_networks.hpp"
#include "cli/lab_source.hpp"
#include "cli/live_status.hpp"
#include "cli/recheck.hpp"
#include "cli/run_reports.hpp"
#include "cli/up_stages.hpp"
#include "cli/views.hpp"
#include "evidence/event_stream.hpp"
#include "evidence/run_evidence.hpp"
#include "evidence/stopwatch.hpp"
#include "host/preflight.hpp"
#include "images/cache.hpp"
#include "instance/base_images.hpp"
#include "instance/lock.hpp"
#include "instance/provision.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "instance/qemu_user.hpp"
#include "instance/seed_image.hpp"
#include "lab/values.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"
#include "readiness/gates.hpp"
#include "templates/record.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>

#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

bool uses_io_uring(const lab::InstanceSpec& i) {
  return i.disk_io.aio == lab::DiskAio::io_uring ||
         std::any_of(i.disks.begin(), i.disks.end(),
                     [](const lab::ExtraDisk& d) { return d.io.aio == lab::DiskAio::io_uring; });
}

using evidence::seconds_text;
using evidence::Stopwatch;
using up::Stage;
using up::stage_choices;
using up::stage_table;
using up::Step;
using up::step_name;

std::string local_path(const std::string& url_or_path) {
  return url_or_path.rfind("file://", 0) == 0 ? url_or_path.substr(7) : url_or_path;
}

struct Base {
  std::filesystem::path file;
  std::string digest;
  DiskFormat format = DiskFormat::qcow2;
};

// One instance on its way up.
struct Launching {
  const lab::InstanceSpec* instance = nullptr;
  instance::InstancePaths paths;
  std::optional<instance::InstanceLock> lock; // until QEMU holds it
  std::string instance_id;
  std::string seed_sha256;
  std::vector<std::string> argv;
  pid_t pid = -1;
  std::uint64_t serial_from = 0; // the serial log's size before this boot
  std::optional<Error> failure;
  // A clone: its template, and whether this start restores it (a fresh overlay) or boots the
  // disk it has from an earlier run.
  const templates::TemplateRecord* from = nullptr;
  bool restore = false;
};

class Up {
public:
  // `stream`: --json's events (human output then goes to `out`, which the caller makes stderr).
  Up(const ParsedArgs& args, std::ostream& out, std::ostream& err, const CliEnvironment& env,
     const UpHooks& hooks, evidence::EventStream* stream = nullptr)
      : m_args(args), m_out(out), m_err(err), m_env(env), m_hooks(hooks), m_stream(stream) {}

  [[nodiscard]] std::string evidence_dir() const {
    return m_evidence ? m_evidence->dir().string() : std::string();
  }

  int run() {
    const std::string stage_arg = m_args.value("--stage").value_or("full");
    const auto stage = std::find_if(stage_table.begin(), stage_table.end(),
                                    [&](const Stage& st) { return st.name == stage_arg; });
    if (stage == stage_table.end())
      return fail(m_err, Error(ErrorCode::usage, "unknown stage '" + stage_arg + "'",
                               "use " + stage_choices()));
    const auto accel = accel_option(m_args);
    if (!accel)
      return fail(m_err, accel.error());
    m_accel = *accel;
    m_dry = m_args.has("--dry-run");
    // A command after -- is the lab's workload: it runs attached, once every gate passed.
    m_attach = m_args.has("--attach") || !m_args.trailing.empty();
    if (m_dry && m_attach)
      return fail(m_err, Error(ErrorCode::usage, "--dry-run and --attach exclude each other"));
    if (!m_args.trailing.empty() && m_args.has("--json"))
      return fail(m_err, Error(ErrorCode::usage,
                               "--json and a command after -- exclude each other: the command's "
                               "output would run into the event stream",
                               "drop --json and follow the run with `kvmrun events --follow`"));
    if (!m_args.trailing.empty() && stage_arg != "full" && stage_arg != "runtime")
      return fail(m_err, Error(ErrorCode::usage,
                               "a command after -- runs once the instances are ready, which "
                               "stage " +
                                   stage_arg + " does not bring them to",
                               "use --stage full (the default) or runtime"));
    auto ctx = open_lab(m_args, m_env, m_args.positional);
    if (!ctx)
      return fail(m_err, ctx.error());
    m_ctx = std::move(ctx).value();
    if (auto s = give_lab_key(m_ctx, !m_dry); !s)
      return fail(m_err, s.error());
    if (m_hooks.adjust_lab)
      m_hooks.adjust_lab(m_ctx.lab);
    if (const auto from = m_args.value("--from-template")) {
      if (!lab::is_valid_name(*from))
        return fail(m_err, Error(ErrorCode::usage, "template name '" + *from +
                                                       "' is not a plain "
                                                       "name"));
      for (auto& i : m_ctx.lab.instances)
        if (std::find(m_ctx.selected.begin(), m_ctx.selected.end(), &i) != m_ctx.selected.end())
          i.template_name = *from;
    }
    auto templates = apply_templates(m_ctx);
    if (!templates)
      return fail(m_err, templates.error());
    m_templates = std::move(templates).value();
    if (auto s = instance::check_socket_paths(m_ctx.dirs, m_ctx.lab); !s)
      return fail(m_err, s.error());
    if (!m_dry) {
      auto ev = evidence::RunEvidence::create(m_ctx.lab_evidence(), "up --stage " + stage_arg,
                                              lab_secrets(m_ctx.lab));
      if (!ev)
        return fail(m_err, ev.error());
      m_evidence.emplace(std::move(ev).value());
      if (m_stream != nullptr)
        m_evidence->on_record([this](const json::object& o) { m_stream->end(o); });
    }
    m_out << (m_dry ? "dry run: nothing is changed\n" : "") << "lab " << m_ctx.lab.name << " ("
          << m_ctx.lab.source << "), " << m_ctx.selected.size() << " instance(s)\n";

    Status status;
    for (const auto& [step, timed] : stage->steps) {
      if (!status.ok())
        break;
      status = timed ? timed_stage(std::string(step_name(step)), [&] { return run_step(step); })
                     : run_step(step);
    }
    // An instance this run holds but did not start (a stage before runtime, or a failure before
    // its QEMU) is no longer being brought up.
    for (const auto& l : m_launching)
      if (l->lock)
        instance::clear_bringing_up(l->paths);
    // A failed run leaves no switch that none of its members needs (one it started for QEMUs
    // that then did not start, say).
    if (!status.ok() && !m_dry)
      if (auto s = stop_unused_networks(m_ctx, false, m_out); !s)
        (void)fail(m_err, s.error());
    Status recorded;
    if (m_evidence) {
      recorded = m_evidence->finish(status.ok() ? "ok" : "failed");
      if (recorded)
        recorded = write_junit(m_evidence->dir());
      if (recorded)
        m_out << "evidence: " << m_evidence->dir().string() << "\n";
      if (m_hooks.finished)
        m_hooks.finished(m_evidence->dir(), m_evidence->events());
    }
    if (!status.ok()) {
      // One error line, the run's own; evidence that could not be written as well (the same
      // full disk, often) is said as a warning before it.
      if (!recorded)
        m_err << "kvmrun: warning: " << recorded.error().describe() << "\n";
      return fail(m_err, status.error());
    }
    if (!recorded)
      return fail(m_err, recorded.error());
    if (m_attach && (!m_launching.empty() || !m_args.trailing.empty()))
      return attached();
    return 0;
  }

private:
  // Every run's gates as JUnit XML beside its records, for CI to pick up whatever the outcome
  // (cli/run_reports.hpp; `report --junit` writes the same elsewhere).
  static Status write_junit(const std::filesystem::path& run) {
    auto xml = run_junit(run);
    if (!xml)
      return std::move(xml).error().add_context("writing the run's junit.xml");
    return write_file_atomic(run / "junit.xml", *xml, 0600, Durability::regenerated);
  }

  Status run_step(Step step) {
    switch (step) {
    case Step::preflight: return preflight();
    case Step::fetch_images: return image_cache(true);
    case Step::find_images: return image_cache(false);
    case Step::provision: return provision();
    case Step::check_provisioned: return provisioned_already();
    case Step::runtime: return runtime();
    }
    return {};
  }

  Status timed_stage(const std::string& name, const std::function<Status()>& body) {
    if (m_stream != nullptr)
      m_stream->start("stage", name, "");
    const Stopwatch watch;
    m_out << "stage " << name << "\n" << std::flush;
    Status s = body();
    const auto took = watch.elapsed();
    record("stage", name, "", watch.wall, took, s.ok() ? "ok" : "failed",
           s.ok() ? "" : s.error().describe());
    m_out << "stage " << name << " " << (s.ok() ? "ok" : "FAILED") << " (" << seconds_text(took)
          << ")\n"
          << std::flush;
    return s;
  }

  void record(evidence::TimingEvent event) {
    if (m_evidence)
      m_evidence->record(std::move(event));
  }
  void record(std::string kind, std::string name, std::string instance,
              std::chrono::system_clock::time_point start, std::chrono::milliseconds took,
              std::string outcome, std::string detail) {
    if (m_evidence)
      m_evidence->record(evidence::TimingEvent{std::move(kind), std::move(name),
                                               std::move(instance), start, took, std::move(outcome),
                                               std::move(detail)});
  }

  // Host facts are gathered once (about 15-60 ms: QEMU's --version and the KVM probe), by the
  // first step that needs them (so a timed stage's time includes the gathering): preflight
  // judges them, the runtime needs the accelerator and QEMU. Provisioning needs only the
  // firmware files, which firmware() finds without the rest.
  void judge_host() {
    if (m_judged)
      return;
    m_facts = host::gather_host_facts(host_paths(m_env));
    m_report = host::evaluate_preflight(m_facts, m_accel);
    m_judged = true;
  }

  Status preflight() {
    judge_host();
    if (!m_report.ok())
      return Error(ErrorCode::host, "preflight failed:\n" + render_text(m_report),
                   "fix what preflight reports above");
    for (const auto* i : m_ctx.selected)
      if (const auto fw = m_ctx.lab.images.at(i->image).firmware;
          lab::is_uefi(fw) && !m_facts.firmware.uefi_pair(fw == lab::Firmware::uefi_secure))
        return Error(ErrorCode::host,
                     "instance '" + i->name + "' boots with " +
                         (fw == lab::Firmware::uefi_secure ? "UEFI Secure Boot" : "UEFI") +
                         " but no such OVMF was found (see preflight's firmware checks)",
                     "install OVMF (apt-get install ovmf)");
    for (const auto* i : m_ctx.selected)
      if (!m_facts.io_uring_error.empty() && uses_io_uring(*i))
        return Error(ErrorCode::host,
                     "instance '" + i->name +
                         "' has a disk with aio = \"io_uring\", which this "
                         "kernel refuses (" +
                         m_facts.io_uring_error + ")",
                     "use aio = \"threads\" (or \"native\" with cache = \"none\") for it");
    m_out << "  accelerator " << host::to_string(m_report.accel.chosen) << ": "
          << m_report.accel.reason << "\n";
    return {};
  }

  bool kvm() const { return m_report.accel.chosen == host::Accel::kvm; }

  const host::FirmwareFacts& firmware() {
    if (!m_judged && !m_firmware)
      m_firmware = host::gather_firmware(host_paths(m_env));
    return m_judged ? m_facts.firmware : *m_firmware;
  }

  // Fetches (or, when `download` is false, only finds) the base image of every selected
  // instance in the cache.
  Status image_cache(bool download) {
    images::ImageCache cache(m_ctx.dirs.cache / "images");
    for (const auto* i : m_ctx.selected) {
      if (m_bases.contains(i->image) || !i->template_name.empty())
        continue; // a clone's disks sit on its template's, which sit on the template's base
      const auto& spec = m_ctx.lab.images.at(i->image);
      auto source = instance::image_source(spec);
      if (m_args.has("--verify"))
        source.check = images::CacheCheck::full;
      const Stopwatch watch;
      if (!download || m_dry) {
        auto found = cache.expected_digest(source);
        if (!found)
          return with_remedy(std::move(found).error(), spec);
        const HexDigest* digest = &found->digest;
        const auto file = cache.entry_path(spec.name, *digest, source.format);
        std::error_code ec;
        const bool cached = std::filesystem::exists(file, ec);
        if (!cached && !m_dry)
          return Error(ErrorCode::image,
                       "image '" + spec.name + "' is not in the cache (" + file.string() + ")",
                       "run `kvmrun up --stage image-cache` first");
        if (m_dry && download)
          m_out << "  " << (cached ? "cached   " : "download ") << spec.name << " "
                << digest->label().substr(0, 23) << "... from " << spec.url << "\n";
        m_bases[i->image] = Base{file, digest->label(), source.format};
        continue;
      }
      if (!spec.origin.empty())
        m_out << "  " << spec.name << ": " << spec.origin << "\n";
      auto fetched = cache.fetch(source, terminal_progress(spec.name, m_env.stderr_is_terminal));
      const auto took = watch.elapsed();
      if (!fetched) {
        record("task", "fetch " + spec.name, "", watch.wall, took, "failed",
               fetched.error().describe());
        return with_remedy(std::move(fetched).error(), spec);
      }
      const std::string how = (fetched->downloaded ? std::string("downloaded and verified")
                                                   : "cached, " + fetched->checked) +
                              "; " + fetched->manifest;
      record("task", "fetch " + spec.name, "", watch.wall, took, "ok", how);
      m_out << "  " << spec.name << " " << fetched->entry.digest.label().substr(0, 23) << "... "
            << how << " (" << seconds_text(took) << ")\n";
      m_bases[i->image] =
          Base{fetched->entry.file, fetched->entry.digest.label(), fetched->entry.format};
    }
    return {};
  }

  static Error with_remedy(Error e, const lab::ImageSpec& spec) {
    if (!spec.missing_remedy.empty())
      e.set_remedy(spec.missing_remedy);
    return e;
  }

  instance::ProvisionInput provision_input(const lab::InstanceSpec& i,
                                           const instance::InstancePaths& paths) {
    const auto& image = m_ctx.lab.images.at(i.image);
    if (!i.template_name.empty()) {
      const auto dir = template_dir(i);
      std::vector<std::filesystem::path> extra;
      for (const auto& d : i.disks)
        extra.push_back(dir / paths.extra_disk(d.name).filename());
      std::optional<std::filesystem::path> vars;
      if (lab::is_uefi(image.firmware))
        vars = dir / paths.efi_vars().filename();
      return instance::ProvisionInput{
          i, paths, dir / paths.disk().filename(), DiskFormat::qcow2, vars, extra, true};
    }
    const auto& base = m_bases.at(i.image);
    std::optional<std::filesystem::path> vars;
    if (const auto& pair = firmware().uefi_pair(image.firmware == lab::Firmware::uefi_secure);
        lab::is_uefi(image.firmware) && pair)
      vars = pair->vars;
    return instance::ProvisionInput{i, paths, base.file, base.format, vars, {}, false};
  }

  std::filesystem::path template_dir(const lab::InstanceSpec& i) const {
    return templates::templates_root(m_ctx.dirs.cache) / i.template_name;
  }

  // The base digest an instance's provenance records: its image's, or a clone's template's.
  std::string base_digest(const Launching& l) const {
    return l.from ? l.from->base_digest : m_bases.at(l.instance->image).digest;
  }

  // Every clone starting now, before anything is made for it: its template's files match their
  // digests, and its QEMU, accelerator, CPUs, memory, firmware and devices are the template's.
  // A clone whose disk exists from an earlier run is booted from it instead of restored.
  Status check_clones() {
    for (auto& l : m_launching) {
      const auto* i = l->instance;
      if (i->template_name.empty())
        continue;
      judge_host();
      l->from = &m_templates.at(i->template_name);
      std::error_code ec;
      const bool fresh = !std::filesystem::exists(l->paths.disk(), ec);
      l->restore = fresh || std::filesystem::exists(l->paths.clone_pending(), ec);
      if (!l->restore) {
        m_out << "  " << i->name << ": a clone of " << i->template_name
              << " whose disk exists from an earlier run: it boots from that disk (`kvmrun down "
                 "--purge-disks "
              << i->name << "` gives a fresh clone)\n";
        continue;
      }
      const Stopwatch watch;
      std::string how;
      auto verified =
          templates::verify_files(template_dir(*i), *l->from, m_args.has("--verify"), &how);
      record("task", "verify template " + i->template_name, i->name, watch.wall, watch.elapsed(),
             verified ? "ok" : "failed", verified ? how : verified.error().describe());
      if (!verified)
        return verified;
      auto launch = launch_for(*l);
      launch.incoming = true;
      templates::CloneHost host{templates::qemu_version_of(m_facts.qemu.version_line),
                                kvm() ? "kvm" : "tcg", "", instance::qemu_argv(launch)};
      if (!launch.ovmf_code.empty()) {
        auto code = hash_file(launch.ovmf_code, DigestAlgorithm::sha256);
        if (!code)
          return std::move(code).error();
        host.firmware_sha256 = *code;
      }
      if (auto s = templates::check_clone(*l->from, *i, m_ctx.lab.images.at(i->image), host); !s)
        return s;
      m_out << "  " << i->name << ": a clone of " << i->template_name << " (" << how << ")\n";
    }
    return {};
  }

  // Takes each instance's lock. One that already runs has its gates re-proven in the runtime
  // stage; one that another kvmrun is bringing up is waited for (within its gates' bounds), then
  // taken or re-proven; one whose lock something else holds is refused.
  Status lock_instances() {
    for (const auto* i : m_ctx.selected) {
      if (std::any_of(m_launching.begin(), m_launching.end(),
                      [&](const auto& l) { return l->instance == i; }) ||
          std::find(m_rechecking.begin(), m_rechecking.end(), i) != m_rechecking.end())
        continue;
      auto l = std::make_unique<Launching>();
      l->instance = i;
      l->paths = m_ctx.paths(*i);
      if (m_dry) {
        m_launching.push_back(std::move(l));
        continue;
      }
      auto lock = take_or_wait(*i, l->paths);
      if (!lock)
        return std::move(lock).error();
      if (!*lock) { // it runs
        m_out << "  " << i->name << ": already running; its gates are re-proven\n";
        m_rechecking.push_back(i);
        continue;
      }
      if (auto marked = instance::mark_bringing_up(l->paths); !marked)
        return std::move(marked).error().add_context("taking instance " + i->name);
      l->lock.emplace(std::move(**lock));
      m_launching.push_back(std::move(l));
    }
    return {};
  }

  // The instance's lock, or nullopt when its QEMU runs. While another kvmrun is bringing it up,
  // waits for that to end, for as long as its gates may take; then busy naming that kvmrun.
  Result<std::optional<instance::InstanceLock>> take_or_wait(const lab::InstanceSpec& i,
                                                             const instance::InstancePaths& paths) {
    const auto bound = readiness::gates_bound(i.timeouts);
    const auto deadline = std::chrono::steady_clock::now() + bound;
    const auto exiting_until = std::chrono::steady_clock::now() + 5s;
    bool told = false;
    while (true) {
      auto lock = instance::InstanceLock::acquire(paths, i.name);
      if (lock)
        return std::optional(std::move(lock).value());
      if (lock.error().code() != ErrorCode::busy)
        return std::move(lock).error();
      const auto live = instance::probe_instance(paths, m_ctx.lab.name, i.name);
      // The kvmrun bringing it up: its up.pid, or, before that is written, the lock's record.
      auto other = instance::bringing_up(paths, m_env.self);
      if (!other && live.state == instance::Liveness::State::foreign && live.pid &&
          *live.pid != ::getpid() && instance::runs_program(*live.pid, m_env.self))
        other = live.pid;
      if (!other) {
        std::error_code ec;
        if (live.state == instance::Liveness::State::running &&
            std::filesystem::exists(paths.bringing_up(), ec)) {
          // Half-started: the kvmrun that started it is gone before its gates passed, so it
          // was never proven ready. Cleaned on purpose: stopped, then started again.
          m_out << "  " << i.name << ": its QEMU (pid " << *live.pid
                << ") was started by a kvmrun that is gone before its gates passed; stopping it "
                   "to start it again\n"
                << std::flush;
          const auto stopping = std::chrono::system_clock::now();
          if (m_stream != nullptr)
            m_stream->start("task", "stop qemu", i.name);
          auto stopped = instance::stop_instance(paths, m_ctx.lab.name, i, *live.pid,
                                                 [](const std::string&) {});
          record(stop_record(i.name, stopping, stopped));
          if (!stopped)
            return std::move(stopped).error().add_context("stopping the half-started " + i.name);
          continue;
        }
        if (live.state == instance::Liveness::State::running)
          return std::optional<instance::InstanceLock>();
        // A lock changing hands, for moments: a QEMU that was just killed holds it until its
        // last thread is gone; a kvmrun that just took it has not recorded its pid yet (the file
        // is empty, or still names a process that is gone: found by two ups racing in CI).
        const bool settling = !live.pid || !is_live(*live.pid);
        if (live.state == instance::Liveness::State::foreign &&
            !(settling && std::chrono::steady_clock::now() < exiting_until))
          return instance::held_by_another(i.name, live);
        std::this_thread::sleep_for(20ms);
        continue; // freed meanwhile (or about to be): take it
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return Error(
            ErrorCode::busy,
            "instance '" + i.name + "' is being brought up by another kvmrun (" +
                describe_pid(*other) + "), which did not finish within " +
                seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(bound)) +
                " (the sum of its gates' timeouts)",
            "see `kvmrun status`; wait for that kvmrun, or stop it and `kvmrun down " + i.name +
                "`");
      if (!told)
        m_out << "  " << i.name << ": another kvmrun (" << describe_pid(*other)
              << ") is bringing it up; waiting for it\n"
              << std::flush;
      told = true;
      std::this_thread::sleep_for(200ms);
    }
  }

  Status provision() {
    if (auto s = lock_instances(); !s)
      return s;
    if (auto s = check_clones(); !s)
      return s;
    for (auto& l : m_launching) {
      const auto input = provision_input(*l->instance, l->paths);
      if (m_dry) {
        for (const auto& line : instance::describe_provisioning(input))
          m_out << "  " << l->instance->name << ": " << line << "\n";
        continue;
      }
      const Stopwatch watch;
      auto made = instance::provision_instance(input);
      const auto took = watch.elapsed();
      record("task", "provision", l->instance->name, watch.wall, took, made ? "ok" : "failed",
             made ? std::to_string(made->created.size()) + " created, " +
                        std::to_string(made->kept.size()) + " kept"
                  : made.error().describe());
      if (!made)
        return std::move(made).error();
      l->instance_id = made->instance_id;
      l->seed_sha256 = made->seed_sha256;
      m_out << "  " << l->instance->name << ": instance-id " << l->instance_id << ", "
            << made->created.size() << " file(s) created, " << made->kept.size()
            << " disk(s) kept (" << seconds_text(took) << ")\n";
    }
    return {};
  }

  // --stage runtime on its own: the files must be there already.
  Status provisioned_already() {
    if (auto s = lock_instances(); !s)
      return s;
    if (auto s = check_clones(); !s)
      return s;
    for (auto& l : m_launching) {
      std::error_code ec;
      if (!std::filesystem::exists(l->paths.disk(), ec) ||
          !std::filesystem::exists(l->paths.seed(), ec))
        return Error(ErrorCode::disk,
                     "instance '" + l->instance->name + "' is not provisioned (no " +
                         l->paths.disk().string() + " or seed)",
                     "run `kvmrun up --stage provision` first");
      auto seed = instance::build_seed_image(*l->instance);
      if (!seed)
        return std::move(seed).error();
      l->instance_id = seed->documents.instance_id;
      auto bytes = read_file(l->paths.seed(), 64U << 20U);
      if (!bytes)
        return std::move(bytes).error().add_context("reading the seed of " + l->instance->name +
                                                    " for its provenance");
      l->seed_sha256 = sha256_hex(*bytes);
    }
    return {};
  }

  instance::QemuLaunch launch_for(const Launching& l) {
    instance::QemuLaunch q;
    q.qemu = m_facts.qemu.path ? m_facts.qemu.path->string() : host_paths(m_env).qemu_program;
    q.lab = m_ctx.lab.name;
    q.instance = *l.instance;
    q.image = m_ctx.lab.images.at(l.instance->image);
    q.image.kernel = local_path(q.image.kernel);
    q.image.initrd = local_path(q.image.initrd);
    q.paths = l.paths;
    q.kvm = kvm();
    if (const auto& pair =
            m_facts.firmware.uefi_pair(q.image.firmware == lab::Firmware::uefi_secure);
        lab::is_uefi(q.image.firmware) && pair)
      q.ovmf_code = pair->code;
    q.bridged = bridged_networks(m_ctx.lab);
    q.incoming = l.restore;
    return q;
  }

  // Root's kvmrun: QEMU runs as its own user, handed what it opens by path; the ids to start
  // it with (none otherwise).
  Result<std::optional<Credentials>> handed_over(const Launching& l) {
    if (!m_run_as)
      return std::optional<Credentials>{};
    const std::string what = "handing instance " + l.instance->name + "'s files to QEMU";
    auto files = instance::qemu_handover(launch_for(l));
    if (!files)
      return std::move(files).error().add_context(what);
    if (auto given = instance::hand_over(*m_run_as, *files, m_ctx.dirs); !given)
      return std::move(given).error().add_context(what);
    return std::optional<Credentials>(m_run_as->ids);
  }

  Status spawn(Launching& l) {
    auto taps = open_taps(m_ctx, *l.instance); // root mode; QEMU keeps its copies
    if (!taps)
      return std::move(taps).error();
    std::vector<std::pair<int, int>> extra;
    for (const auto& [number, fd] : *taps)
      extra.emplace_back(number, fd.get());
    UniqueFd state;
    if (l.restore) {
      const auto file = template_dir(*l.instance) / std::string(templates::state_file_name);
      state = UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
      if (state.get() < 0)
        return system_error(ErrorCode::image,
                            "opening the state of template " + l.instance->template_name, errno);
      extra.emplace_back(instance::state_fd, state.get());
    }
    std::error_code ec;
    const auto logged = std::filesystem::file_size(l.paths.serial_log(), ec);
    l.serial_from = ec ? 0 : logged;
    auto ids = handed_over(l);
    auto pid = ids ? instance::start_qemu(l.paths, l.argv, *l.lock, m_attach, extra, *ids)
                   : Result<pid_t>(std::move(ids).error());
    if (!pid) { // its runtime files go, whichever step failed
      (void)instance::remove_runtime_files(l.paths, l.instance->name, std::move(l.lock));
      l.lock.reset();
      return std::move(pid).error();
    }
    l.pid = *pid;
    // QEMU holds the lock now (the same open file, inherited): kvmrun lets go of its copy, so
    // the lock is free exactly when QEMU has exited.
    l.lock.reset();
    return {};
  }

  Status runtime() {
    judge_host();
    auto as = instance::qemu_run_as(m_env.getenv, m_env.uid,
                                    kvm() ? instance::kvm_device_group() : std::nullopt);
    if (!as)
      return std::move(as).error();
    m_run_as = std::move(*as);
    if (auto s = start_networks(); !s)
      return s;
    for (auto& l : m_launching) {
      l->argv = instance::qemu_argv(launch_for(*l));
      if (m_dry) {
        m_out << "  " << l->instance->name << ": would run\n   ";
        for (const auto& a : l->argv)
          m_out << " " << shell_quote(a);
        m_out << "\n  " << l->instance->name << ": then wait for the gates";
        for (const auto& g : readiness::gate_names())
          m_out << " " << g;
        m_out << "\n";
        continue;
      }
      json::array argv;
      for (const auto& a : l->argv)
        argv.emplace_back(a);
      const std::string argv_json = json::serialize(argv) + "\n";
      if (auto w = write_file_atomic(l->paths.argv(), argv_json, 0600, Durability::regenerated); !w)
        return std::move(w).error().add_context("recording the QEMU command line of " +
                                                l->instance->name);
      m_evidence->save(l->instance->name + "/argv.json", argv_json);
      const Stopwatch watch;
      auto s = spawn(*l);
      record("task", "spawn qemu", l->instance->name, watch.wall, watch.elapsed(),
             s ? "ok" : "failed", s ? "pid " + std::to_string(l->pid) : s.error().describe());
      if (!s)
        return s;
      m_out << "  " << l->instance->name << ": QEMU pid " << l->pid << " ("
            << (kvm() ? "KVM" : "TCG") << ")\n"
            << std::flush;
    }
    if (m_dry)
      return {};

    // The gates, one thread per instance, under their live status lines on a terminal (erased
    // once every thread is done).
    {
      LiveStatus live(m_out, m_stream == nullptr && m_env.stdout_columns > 0, m_env.stdout_columns);
      for (auto& l : m_launching)
        live.add(l->instance->name, l->paths.serial_log());
      for (const auto* r : m_rechecking)
        live.add(r->name, m_ctx.paths(*r).serial_log());
      std::vector<std::thread> threads;
      // A peer counts when it starts now or already runs: the others cannot answer.
      const auto up_or_starting = [&](const lab::InstanceSpec& m) {
        return std::any_of(m_launching.begin(), m_launching.end(),
                           [&](const auto& l) { return l->instance == &m; }) ||
               instance::running_pid(m_ctx.paths(m), m_ctx.lab.name, m.name).has_value();
      };
      for (auto& l : m_launching) {
        auto peers = peers_of(m_ctx, *l->instance, up_or_starting);
        threads.emplace_back([&, lp = l.get(), peers = std::move(peers)] {
          const auto* t = lp->restore ? lp->from : nullptr;
          readiness::GateTarget target{
              m_ctx.lab.name,
              *lp->instance,
              lp->paths,
              kvm(),
              60'000ms,
              instance::Provenance{m_ctx.lab.name, lp->instance->name, m_ctx.lab.config_hash,
                                   base_digest(*lp), m_ctx.lab.images.at(lp->instance->image).url,
                                   lp->seed_sha256, lp->instance_id, lp->argv, t ? t->name : "",
                                   t ? t->instance_id : ""},
              peers,
              lp->serial_from,
              t ? std::optional(readiness::CloneOrigin{
                      t->name, t->instance_id, lp->instance->seed.hostname, lp->instance->on_clone})
                : std::nullopt};
          const auto observe = [&](const readiness::GateOutcome& o) {
            // Once a clone's restored guest has run, its disk has left the saved state behind.
            if (t && o.gate == "qemu" && o.passed) {
              std::error_code ec;
              std::filesystem::remove(lp->paths.clone_pending(), ec);
            }
            record(gate_record(o));
            live.print(gate_line(o));
          };
          const auto starting = [&](std::string_view gate) {
            if (m_stream != nullptr)
              m_stream->start("gate", std::string(gate), lp->instance->name);
            live.waiting(lp->instance->name, std::string(gate),
                         readiness::gate_timeout(gate, lp->instance->timeouts));
          };
          auto s = readiness::run_gates(target, readiness::GateMode::fresh_boot, observe, starting);
          instance::clear_bringing_up(lp->paths);
          live.finished(lp->instance->name);
          if (!s)
            lp->failure = std::move(s).error();
        });
      }
      std::mutex failures;
      for (const auto* r : m_rechecking)
        threads.emplace_back([&, r] {
          auto target = recheck_target(m_ctx, *r, peers_of(m_ctx, *r, up_or_starting));
          Status s = target ? Status() : Status(std::move(target).error());
          if (target)
            s = readiness::run_gates(
                *target, readiness::GateMode::recheck,
                [&](const readiness::GateOutcome& o) {
                  record(gate_record(o));
                  live.print(gate_line(o));
                },
                [&](std::string_view gate) {
                  if (m_stream != nullptr)
                    m_stream->start("gate", std::string(gate), r->name);
                  live.waiting(r->name, std::string(gate),
                               readiness::gate_timeout(gate, r->timeouts));
                });
          live.finished(r->name);
          if (!s) {
            std::lock_guard lock(failures);
            if (!m_recheck_failure)
              m_recheck_failure = std::move(s).error().add_context(
                  "re-proving instance " + r->name + ", which was already running");
          }
        });
      for (auto& t : threads)
        t.join();
    }
    for (auto& l : m_launching) {
      const std::string name = l->instance->name;
      auto serial = read_file(l->paths.serial_log(), 64U << 20U);
      if (serial)
        m_evidence->save(name + "/serial.log", *serial);
      if (auto q = read_file(l->paths.qemu_log(), 16U << 20U))
        m_evidence->save(name + "/qemu.log", *q);
    }
    // A guest that did not become ready is stopped (all such at once); its disks and logs stay
    // for inspection.
    std::optional<Error> first;
    std::vector<instance::StopRequest> failed;
    for (auto& l : m_launching) {
      if (!l->failure)
        continue;
      m_out << "  " << l->instance->name
            << ": not ready; stopping it (serial log: " << l->paths.serial_log().string() << ")\n";
      failed.push_back({l->paths, l->instance, l->pid});
      if (!first)
        first = l->failure;
    }
    const auto stopping = std::chrono::system_clock::now();
    for (const auto& f : failed)
      if (m_stream != nullptr)
        m_stream->start("task", "stop qemu", f.instance->name);
    auto stops = instance::stop_instances(m_ctx.lab.name, failed,
                                          [](const std::string&, const std::string&) {});
    for (std::size_t k = 0; k < stops.size(); ++k)
      record(stop_record(failed[k].instance->name, stopping, stops[k]));
    for (std::size_t k = 0; k < stops.size(); ++k)
      if (!stops[k])
        (void)fail(m_err,
                   std::move(stops[k]).error().add_context("stopping " + failed[k].instance->name +
                                                           ", which did not become ready"));
    if (first)
      return *first; // run() stops the switches this leaves without a member
    if (m_recheck_failure)
      return *m_recheck_failure; // it was running before this up: it is left running
    if (m_launching.empty()) {
      m_out << "nothing started: every instance already runs and passed its gates again\n";
      return {};
    }
    // The rollback points the instances ask for, now that every gate passed.
    for (auto& l : m_launching)
      if (!l->instance->snapshot_when_ready.empty())
        if (auto s = snapshot_when_ready(*l); !s)
          return s;
    m_out << "ready:";
    for (auto& l : m_launching)
      m_out << " " << l->instance->name;
    m_out << "\n";
    return {};
  }

  // snapshot_when_ready: an internal snapshot of the ready instance's disks and RAM, timed in
  // the evidence; one the disk already has (from an earlier up) is the freshly provisioned
  // state and is kept.
  Status snapshot_when_ready(const Launching& l) {
    const auto& tag = l.instance->snapshot_when_ready;
    const std::string& name = l.instance->name;
    const Stopwatch watch;
    const auto failed = [&](Error e) {
      record("task", "snapshot " + tag, name, watch.wall, watch.elapsed(), "failed", e.describe());
      return e.add_context("taking the snapshot " + tag + " of " + name +
                           " once it was ready (it is ready and keeps running)");
    };
    EventLoop loop;
    qmp::QmpClient monitor(loop);
    const auto deadline = snapshot_deadline(*l.instance);
    if (auto c = monitor.connect_sync(l.paths.qmp_socket(), deadline_after(10s)); !c)
      return failed(std::move(c).error());
    auto has = qmp::has_snapshot(monitor, instance::root_node, tag, deadline);
    if (!has)
      return failed(std::move(has).error());
    if (*has) {
      record("task", "snapshot " + tag, name, watch.wall, watch.elapsed(), "ok",
             "kept: the disk has it from an earlier up");
      m_out << "  " << name << ": snapshot " << tag << " kept (the disk has it from an earlier "
            << "up)\n";
      return {};
    }
    if (auto s = qmp::snapshot_save(monitor, tag, instance::root_node,
                                    instance::disk_nodes(*l.instance), deadline);
        !s)
      return failed(std::move(s).error());
    const auto took = watch.elapsed();
    record("task", "snapshot " + tag, name, watch.wall, took, "ok", "taken once every gate passed");
    m_out << "  " << name << ": snapshot " << tag << " taken (" << seconds_text(took) << ")\n";
    return {};
  }

  // The switch of every lab network the instances starting now are on, before their QEMUs.
  Status start_networks() {
    // The networks of the instances it starts and of those it re-proves: a switch that died
    // under running members (killed, say) is started again, and their QEMUs find it by path.
    std::vector<const lab::InstanceSpec*> starting(m_rechecking.begin(), m_rechecking.end());
    for (const auto& l : m_launching)
      starting.push_back(l->instance);
    for (const auto* net : networks_of(m_ctx, starting)) {
      if (!net->bridge.empty()) {
        m_out << "  network " << net->name << " (" << net->subnet << "): host bridge "
              << net->bridge << "\n";
        continue;
      }
      if (m_dry) {
        m_out << "  network " << net->name << " (" << net->subnet
              << "): would start its switch unless it runs\n";
        continue;
      }
      const Stopwatch watch;
      auto pid = start_network(m_ctx, *net, m_env.self, m_attach, m_run_as);
      record("task", "switch " + net->name, "", watch.wall, watch.elapsed(), pid ? "ok" : "failed",
             pid ? "pid " + std::to_string(*pid) : pid.error().describe());
      if (!pid)
        return std::move(pid).error().add_context("starting lab network " + net->name);
      m_out << "  network " << net->name << " (" << net->subnet << "): switch pid " << *pid << "\n";
    }
    return {};
  }

  // --attach: in the foreground (cli/foreground.hpp) until interrupted, every QEMU has exited
  // or the command after -- has ended; then stops the instances this run started. With a
  // command, its exit status is kvmrun's unless that is 0 and stopping failed.
  int attached() {
    Foreground f;
    f.command = m_args.trailing;
    f.any_running = [&] {
      return std::any_of(m_launching.begin(), m_launching.end(), [&](const auto& l) {
        return instance::running_pid(l->paths, m_ctx.lab.name, l->instance->name).has_value();
      });
    };
    // The command finds this lab and this run: kvmrun's commands read KVMRUN_CONFIG as
    // --config, and KVMRUN_RUN_DIR is where the run's evidence is (for its own artefacts).
    if (m_ctx.lab.source != builtin_lab_source) {
      std::error_code ec;
      const auto file = std::filesystem::absolute(m_ctx.lab.source, ec);
      f.env.push_back("KVMRUN_CONFIG=" + (ec ? m_ctx.lab.source : file.string()));
    }
    if (m_evidence)
      f.env.push_back("KVMRUN_RUN_DIR=" + m_evidence->dir().string());
    auto waited = wait_in_foreground(f, m_out);
    std::optional<int> command_status;
    if (!waited)
      (void)fail(m_err, waited.error());
    else
      command_status = *waited;
    if (command_status)
      m_out << "attached: the command exited " << *command_status << "\n" << std::flush;
    int rc = 0;
    std::vector<instance::StopRequest> all;
    for (auto& l : m_launching)
      all.push_back({l->paths, l->instance, l->pid});
    auto stops = instance::stop_instances(
        m_ctx.lab.name, all, [&](const std::string& name, const std::string& step) {
          m_out << "  " << name << ": " << step << "\n" << std::flush;
        });
    for (std::size_t k = 0; k < stops.size(); ++k) {
      if (!stops[k])
        rc = fail(m_err, stops[k].error());
      else
        m_out << "  " << all[k].instance->name << ": " << instance::stopped_text(*stops[k]) << "\n";
    }
    if (auto s = stop_unused_networks(m_ctx, false, m_out); !s)
      rc = fail(m_err, s.error());
    if (!waited)
      return exit_code(waited.error().code());
    return command_status && *command_status != 0 ? *command_status : rc;
  }

  const ParsedArgs& m_args;
  std::ostream& m_out;
  std::ostream& m_err;
  const CliEnvironment& m_env;
  const UpHooks& m_hooks;
  evidence::EventStream* m_stream = nullptr;
  host::Accel m_accel = host::Accel::automatic;
  bool m_dry = false;
  bool m_attach = false;
  LabContext m_ctx;
  std::optional<evidence::RunEvidence> m_evidence;
  bool m_judged = false;
  host::HostFacts m_facts;
  std::optional<host::FirmwareFacts> m_firmware; // when only provisioning ran
  std::optional<instance::RunAs> m_run_as;       // root's kvmrun: QEMU's user
  host::PreflightReport m_report;
  std::map<std::string, Base> m_bases;
  std::map<std::string, templates::TemplateRecord> m_templates; // the clones', by name
  std::vector<std::unique_ptr<Launching>> m_launching;
  std::vector<const lab::InstanceSpec*> m_rechecking; // already running: gates re-proven
  std::optional<Error> m_recheck_failure;
};

} // namespace

int run_up(const ParsedArgs& args, std::ostream& out, std::ostream& err,
           const CliEnvironment& env) {
  return run_up_hooked(args, out, err, env, UpHooks{});
}

int run_up_hooked(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                  const CliEnvironment& env, const UpHooks& hooks) {
  return run_streamed(args, out, err,
                      [&](std::ostream& human, evidence::EventStream* stream, std::string& dir) {
                        Up up(args, human, err, env, hooks, stream ? stream : hooks.stream);
                        const int rc = up.run();
                        dir = up.evidence_dir();
                        return rc;
                      });
}

} // namespace kvmrun::cli
