#include "templates/save.hpp"

#include "base/digest.hpp"
#include "base/file_digest.hpp"
#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "base/unix_socket.hpp"
#include "evidence/stopwatch.hpp"
#include "images/cache.hpp"
#include "images/qcow2.hpp"
#include "instance/lock.hpp"
#include "instance/provenance.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

namespace kvmrun::templates {

namespace {

using namespace std::chrono_literals;

// Writes everything read from `from` to the new file `to` (0600 until published), hashing it on
// the way; fsynced. The byte count and the sha256 come back.
struct Written {
  std::uint64_t bytes = 0;
  std::string sha256;
};
Result<Written> stream_to_file(int from, const std::filesystem::path& to, bool socket) {
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0)
    return system_error(ErrorCode::io, "creating " + to.string(), errno);
  Digest digest(DigestAlgorithm::sha256);
  std::string buffer(1U << 20U, '\0');
  Written w;
  while (true) {
    const ssize_t n = socket ? ::recv(from, buffer.data(), buffer.size(), 0)
                             : ::read(from, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return system_error(ErrorCode::io, "reading what goes to " + to.string(), errno);
    if (n == 0)
      break;
    const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    if (auto s = write_at(out.get(), chunk, static_cast<off_t>(w.bytes), to.string()); !s)
      return std::move(s).error();
    digest.update(chunk);
    w.bytes += static_cast<std::uint64_t>(n);
  }
  if (::fsync(out.get()) != 0)
    return system_error(ErrorCode::io, "syncing " + to.string(), errno);
  w.sha256 = to_hex(digest.finish());
  return w;
}

Result<Written> copy_file_hashed(const std::filesystem::path& from,
                                 const std::filesystem::path& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0)
    return system_error(ErrorCode::io, "opening " + from.string(), errno);
  return stream_to_file(in.get(), to, false);
}

// The value after `option` in an argv, "" when absent.
std::string option_value(const std::vector<std::string>& argv, std::string_view option) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == option)
      return argv[i + 1];
  return {};
}

// The OVMF code file a UEFI instance's QEMU runs (its fw-code block node), "" otherwise.
std::string firmware_code(const std::vector<std::string>& argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    const auto& v = argv[i + 1];
    if (argv[i] != "-blockdev" || v.find("node-name=fw-code") == std::string::npos)
      continue;
    const auto at = v.find("filename=");
    if (at == std::string::npos)
      continue;
    std::string name;
    for (std::size_t k = at + 9; k < v.size(); ++k) {
      if (v[k] == ',' && k + 1 < v.size() && v[k + 1] == ',') {
        name += ',';
        ++k;
      } else if (v[k] == ',') {
        break;
      } else {
        name += v[k];
      }
    }
    return name;
  }
  return {};
}

Result<std::vector<std::string>> read_argv(const std::filesystem::path& file) {
  auto text = read_file(file, 1U << 20U);
  if (!text)
    return std::move(text).error();
  boost::system::error_code ec;
  const auto doc = boost::json::parse(*text, ec);
  if (ec || !doc.is_array())
    return Error(ErrorCode::io, file.string() + " is not a JSON array of arguments",
                 "`kvmrun down` then `up` the instance to record it again");
  std::vector<std::string> argv;
  for (const auto& a : doc.as_array()) {
    if (!a.is_string())
      return Error(ErrorCode::io, file.string() + " holds a non-string argument");
    argv.emplace_back(a.as_string());
  }
  return argv;
}

// From the QMP greeting's "QMP" object (QmpClient::greeting()).
std::string qemu_version_from(const boost::json::object& greeting) {
  const auto* version = greeting.if_contains("version");
  const auto* o = version ? version->if_object() : nullptr;
  const auto* q = o ? o->if_contains("qemu") : nullptr;
  const auto* package = o ? o->if_contains("package") : nullptr;
  if (q == nullptr || !q->is_object())
    return {};
  const auto part = [&](const char* key) {
    const auto* v = q->as_object().if_contains(key);
    return v && v->is_int64() ? std::to_string(v->as_int64()) : std::string("?");
  };
  std::string text = part("major") + "." + part("minor") + "." + part("micro");
  if (package && package->is_string() && !package->as_string().empty())
    text += " (" + std::string(package->as_string()) + ")";
  return text;
}

// A directory that is removed again unless released.
class PartialDir {
public:
  explicit PartialDir(std::filesystem::path dir) : m_dir(std::move(dir)) {}
  ~PartialDir() {
    if (!m_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(m_dir, ec);
    }
  }
  PartialDir(const PartialDir&) = delete;
  PartialDir& operator=(const PartialDir&) = delete;
  const std::filesystem::path& path() const { return m_dir; }
  void release() { m_dir.clear(); }

private:
  std::filesystem::path m_dir;
};

const std::filesystem::path& self() {
  static const std::filesystem::path exe = [] {
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/self/exe", ec);
  }();
  return exe;
}

// Partial templates (".NAME.partial-PID") whose kvmrun is gone.
void remove_stale_partials(const std::filesystem::path& root) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    const auto name = e.path().filename().string();
    const auto at = name.rfind(".partial-");
    if (name.empty() || name[0] != '.' || at == std::string::npos)
      continue;
    pid_t pid = 0;
    const auto digits = std::string_view(name).substr(at + 9);
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (err != std::errc() || end != digits.data() + digits.size() || pid == ::getpid())
      continue;
    if (!instance::runs_program(pid, self()))
      std::filesystem::remove_all(e.path(), ec);
  }
}

// saving.pid from just before the guest is paused until the save is over, however it ends.
class SavingRecord {
public:
  explicit SavingRecord(std::filesystem::path file) : m_file(std::move(file)) {}
  ~SavingRecord() {
    std::error_code ec;
    std::filesystem::remove(m_file, ec);
  }
  SavingRecord(const SavingRecord&) = delete;
  SavingRecord& operator=(const SavingRecord&) = delete;
  [[nodiscard]] Status write() const {
    return write_file_atomic(m_file, std::to_string(::getpid()) + "\n", 0600,
                             Durability::regenerated);
  }

private:
  std::filesystem::path m_file;
};

} // namespace

Result<bool> undo_interrupted_save(const instance::InstancePaths& paths, std::string_view instance,
                                   const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::exists(paths.saving(), ec)) {
    remove_stale_partials(root);
    return false;
  }
  if (const auto saver = instance::live_kvmrun_in(paths.saving(), self()))
    return Error(ErrorCode::busy,
                 "instance '" + std::string(instance) +
                     "' is being saved as a template by kvmrun pid " + std::to_string(*saver) +
                     " (its guest is paused meanwhile)",
                 "wait for that save to finish");
  const std::string what =
      "resuming " + std::string(instance) + ", paused by a template save whose kvmrun is gone";
  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (auto c = monitor.connect_sync(paths.qmp_socket(), deadline_after(10s)); !c)
    return std::move(c).error().add_context(what);
  auto status = qmp::query_status(monitor, deadline_after(10s));
  if (!status)
    return std::move(status).error().add_context(what);
  bool resumed = false;
  if (!status->running) {
    if (auto s = qmp::cont(monitor, deadline_after(10s)); !s)
      return std::move(s).error().add_context(what);
    resumed = true;
  }
  std::filesystem::remove(paths.saving(), ec);
  std::filesystem::remove(paths.save_socket(), ec);
  remove_stale_partials(root);
  return resumed;
}

Result<SaveResult> save_template(const SaveRequest& rq,
                                 const std::function<void(const std::string&)>& progress) {
  const evidence::Stopwatch total;
  const auto& inst = *rq.instance;
  const std::string what = "saving " + inst.name + " as template " + rq.name;
  const auto final_dir = rq.root / rq.name;
  std::error_code ec;
  if (std::filesystem::exists(final_dir, ec))
    return Error(ErrorCode::config,
                 "template '" + rq.name + "' exists already (" + final_dir.string() + ")",
                 "choose another name, or `kvmrun template delete " + rq.name + "` first");
  const auto pid = instance::running_pid(rq.paths, rq.lab, inst.name);
  if (!pid)
    return Error(ErrorCode::config, "instance '" + inst.name + "' is not running",
                 "`kvmrun up " + inst.name + "` first: a template is saved from a ready guest");
  auto prov = instance::read_provenance(rq.paths.provenance());
  if (!prov)
    return std::move(prov).error().add_context(
        what + ": the instance has no complete provenance (did `up` finish its gates?)");
  if (!prov->template_name.empty())
    return Error(ErrorCode::config,
                 "instance '" + inst.name + "' is itself a clone of template '" +
                     prov->template_name + "'",
                 "save templates from instances booted from their image");
  if (prov->instance_id != rq.seed_instance_id)
    return Error(ErrorCode::config,
                 "instance '" + inst.name + "' runs instance-id " + prov->instance_id +
                     ", but the lab now gives it " + rq.seed_instance_id,
                 "`kvmrun down " + inst.name + "` then `up` to apply the lab's definition first");
  auto argv = read_argv(rq.paths.argv());
  if (!argv)
    return std::move(argv).error().add_context(what);
  const auto devices = device_set(*argv);
  if (std::find(devices.begin(), devices.end(), "-device vmgenid,guid=auto") == devices.end())
    return Error(
        ErrorCode::config,
        "instance '" + inst.name +
            "' runs without a vmgenid device (it was started by an "
            "older kvmrun), so its clones could not be told to reseed their random generators",
        "`kvmrun down " + inst.name + "` then `up`, then save the template");
  auto disk = images::inspect_image(rq.paths.disk(), DiskFormat::qcow2);
  if (!disk)
    return std::move(disk).error().add_context(what);

  TemplateRecord r;
  r.name = rq.name;
  r.created = evidence::iso_time(std::chrono::system_clock::now());
  r.lab = rq.lab;
  r.instance = inst.name;
  r.instance_id = prov->instance_id;
  r.image = inst.image;
  r.base_digest = prov->base_digest;
  r.base_file = disk->backing_file.empty()
                    ? std::string()
                    : std::filesystem::weakly_canonical(disk->backing_file, ec).string();
  r.hostname = inst.seed.hostname;
  r.accel = option_value(*argv, "-accel");
  r.cpus = inst.cpus;
  r.memory_bytes = inst.memory_bytes;
  r.firmware = firmware_name(rq.image->firmware);
  r.firmware_code = firmware_code(*argv);
  if (!r.firmware_code.empty()) {
    auto code = hash_file(r.firmware_code, DigestAlgorithm::sha256);
    if (!code)
      return std::move(code).error().add_context(what);
    r.firmware_sha256 = *code;
  }
  r.devices = devices;
  if (inst.user_network)
    r.nics.push_back({"", inst.seed.network.mac, inst.seed.network.address.value_or("")});
  for (const auto& at : inst.attachments)
    r.nics.push_back({at.network, at.mac, at.address});
  for (const auto& d : inst.disks)
    r.disks.push_back(d.name);

  // The guest agent must answer: a clone is useless without one (its gates and identity go
  // through it), and a guest whose agent hangs is not the ready guest to save.
  {
    EventLoop loop;
    qmp::AgentClient agent(loop);
    Status pinged = agent.connect(rq.paths.agent_socket());
    if (pinged)
      pinged = qmp::guest_ping(agent, deadline_after(10s));
    if (!pinged)
      return Error(ErrorCode::guest,
                   "the guest agent of " + inst.name + " does not answer (" +
                       pinged.error().message() + ")",
                   "`kvmrun check " + inst.name + "` shows what is wrong with the guest");
    // What the guest wrote reaches its disks first: the saved RAM holds its page cache either
    // way (so clones are consistent), but the instance's own disk, booted again after a save
    // that stopped it, would otherwise lack the last writes, as after a power cut.
    auto synced = qmp::guest_run(agent, "/bin/sh", {"-c", "sync"}, deadline_after(60s));
    if (!synced || !synced->exited || synced->exit_code != 0)
      return Error(
          ErrorCode::guest,
          "`sync` in " + inst.name + " failed (" +
              (synced ? (synced->out + synced->err).substr(0, 300) : synced.error().message()) +
              ")",
          "`kvmrun check " + inst.name + "` shows what is wrong with the guest");
  }

  if (auto made = create_private_dirs(rq.root); !made)
    return std::move(made).error().add_context(what);
  remove_stale_partials(rq.root);
  PartialDir partial(rq.root / ("." + rq.name + ".partial-" + std::to_string(::getpid())));
  std::filesystem::remove_all(partial.path(), ec);
  if (auto made = create_private_dirs(partial.path()); !made)
    return std::move(made).error().add_context(what);

  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (auto c = monitor.connect_sync(rq.paths.qmp_socket(), deadline_after(10s)); !c)
    return std::move(c).error().add_context(what);
  r.qemu_version = qemu_version_from(monitor.greeting());
  const auto deadline = deadline_after(std::chrono::minutes(10));
  if (auto s = qmp::prepare_migration(monitor, deadline_after(10s)); !s)
    return std::move(s).error().add_context(what);
  const auto sock = rq.paths.save_socket();
  std::filesystem::remove(sock, ec);
  auto listener = listen_unix(sock, 1);
  if (!listener)
    return std::move(listener).error().add_context(what);
  // QEMU connects to it by path: the socket is its user's, as its runtime directory is (root's
  // kvmrun runs QEMU as another user; instance/qemu_user.hpp).
  struct stat dir {};
  if (::stat(rq.paths.runtime.c_str(), &dir) != 0 ||
      ::lchown(sock.c_str(), dir.st_uid, dir.st_gid) != 0) {
    const int err = errno;
    std::filesystem::remove(sock, ec);
    return system_error(ErrorCode::io, "giving " + sock.string() + " to QEMU's user", err)
        .add_context(what);
  }

  const SavingRecord saving(rq.paths.saving());
  if (auto s = saving.write(); !s)
    return std::move(s).error().add_context(what);
  progress("pausing the guest");
  const evidence::Stopwatch paused;
  if (auto s = qmp::stop(monitor, deadline_after(10s)); !s)
    return std::move(s).error().add_context(what);
  // From here on a failure resumes the guest: it was running when we came.
  const auto resume_after = [&](Error e) {
    (void)qmp::cont(monitor, deadline_after(10s));
    std::filesystem::remove(sock, ec);
    return e.add_context(what + " (the instance runs on as before)");
  };

  progress("saving RAM and device state");
  const auto state_path = partial.path() / std::string(state_file_name);
  Result<Written> state = Error(ErrorCode::internal, "the state file was not written");
  const int listen_fd = listener->get();
  std::thread reader([&] {
    UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.get() < 0) {
      state = system_error(ErrorCode::io, "accepting QEMU's migration connection", errno);
      return;
    }
    state = stream_to_file(conn.get(), state_path, true);
  });
  auto migrated = qmp::migrate(monitor, "unix:" + sock.string(), deadline);
  if (!migrated)
    ::shutdown(listen_fd, SHUT_RDWR); // wakes the reader if QEMU never connected
  reader.join();
  std::filesystem::remove(sock, ec);
  // The writer's failure first: when it could not write the state (a full disk), QEMU's
  // migration fails only because the writer hung up on it.
  if (!state)
    return resume_after(std::move(state).error());
  if (!migrated)
    return resume_after(std::move(migrated).error());
  const auto saved_in = paused.elapsed();
  r.state_bytes = state->bytes;
  r.ram_bytes = migrated->ram_total_bytes;
  r.save_ms = static_cast<std::uint64_t>(saved_in.count());
  auto state_stamp = stamp_file(state_path);
  if (!state_stamp)
    return resume_after(std::move(state_stamp).error());
  r.files.push_back({"state", std::string(state_file_name), state->sha256, *state_stamp});

  // The disks as the paused guest left them (QEMU flushed them when the migration completed).
  progress("copying the disks");
  const evidence::Stopwatch copying;
  std::vector<std::pair<std::string, std::filesystem::path>> files{{"disk", rq.paths.disk()}};
  for (const auto& d : inst.disks)
    files.emplace_back("disk-" + d.name, rq.paths.extra_disk(d.name));
  if (lab::is_uefi(rq.image->firmware))
    files.emplace_back("efivars", rq.paths.efi_vars());
  for (const auto& [role, from] : files) {
    const auto to = partial.path() / from.filename();
    auto copied = copy_file_hashed(from, to);
    if (!copied)
      return resume_after(std::move(copied).error());
    auto stamp = stamp_file(to);
    if (!stamp)
      return resume_after(std::move(stamp).error());
    r.files.push_back({role, from.filename().string(), copied->sha256, *stamp});
  }
  const auto copied_in = copying.elapsed();
  // Read-only from now on. chmod changes no stamp field (ctime is not part of it).
  for (const auto& f : r.files)
    if (::chmod((partial.path() / f.file).c_str(), 0444) != 0)
      return resume_after(system_error(ErrorCode::io, "making " + f.file + " read-only", errno));

  r.instance_after = rq.resume ? "resumed" : "stopped";
  if (auto w = write_record(partial.path(), r); !w)
    return resume_after(std::move(w).error());
  if (auto s = sync_directory(partial.path()); !s)
    return resume_after(std::move(s).error());
  if (::rename(partial.path().c_str(), final_dir.c_str()) != 0)
    return resume_after(
        system_error(ErrorCode::io, "publishing the template as " + final_dir.string(), errno));
  partial.release();
  (void)::chmod(final_dir.c_str(), 0755);
  (void)sync_directory(rq.root);

  if (rq.resume) {
    progress("resuming the instance");
    if (auto s = qmp::cont(monitor, deadline_after(10s)); !s)
      return std::move(s).error().add_context("resuming " + inst.name + " after saving template " +
                                              rq.name + " (the template is complete)");
  } else {
    progress("stopping the instance");
    (void)qmp::quit(monitor, deadline_after(10s));
    monitor.close();
    // Until the lock is free: an exiting QEMU loses its command line before its descriptors.
    const auto until = deadline_after(inst.timeouts.shutdown);
    while (instance::probe_instance(rq.paths, rq.lab, inst.name).state !=
               instance::Liveness::State::stopped &&
           Clock::now() < until)
      std::this_thread::sleep_for(20ms);
    if (auto still = instance::running_pid(rq.paths, rq.lab, inst.name)) {
      auto stopped =
          instance::stop_instance(rq.paths, rq.lab, inst, *still, [](const std::string&) {});
      if (!stopped)
        return std::move(stopped).error().add_context("stopping " + inst.name +
                                                      " after saving template " + rq.name);
    } else if (auto s = instance::remove_runtime_files(rq.paths, inst.name); !s) {
      return std::move(s).error().add_context("cleaning up after " + inst.name + " stopped");
    }
  }
  return SaveResult{r, final_dir, saved_in, copied_in, total.elapsed()};
}

} // namespace kvmrun::templates
