#include "readiness/gates.hpp"

#include "base/file_io.hpp"
#include "evidence/stopwatch.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/vcpu_pinning.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"
#include "readiness/port_probe.hpp"
#include "readiness/serial_watch.hpp"
#include "seeds/cloud_init.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>

namespace kvmrun::readiness {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Readiness the host can only poll (a forwarded port, the guest's addresses, mounts and
// cloud-init's result.json, a peer's ping) is polled this often: noticed within this plus one
// probe of the event (under 100 ms), asleep in between. What can be watched is watched instead
// (the serial console, QEMU's events).
constexpr auto poll_interval = 75ms;

// Waits on the loop until `deadline` (or until the loop's done() says so).
void pause(EventLoop& loop, std::chrono::milliseconds d, Deadline deadline) {
  const Deadline until = std::min(deadline, Clock::now() + d);
  loop.run_until([] { return false; }, until);
}

} // namespace

class GateRun {
public:
  GateRun(const GateTarget& t, GateMode mode)
      : m_t(t), m_mode(mode), m_qmp(m_loop), m_serial(m_loop),
        m_agent(std::make_unique<qmp::AgentClient>(m_loop)) {}

  Status run(const GateObserver& observe,
             const std::function<void(std::string_view gate)>& starting) {
    for (const Gate& gate : gate_table()) {
      if (starting)
        starting(gate.name);
      GateOutcome o;
      o.instance = m_t.instance.name;
      o.gate = gate.name;
      const evidence::Stopwatch watch;
      auto result = gate.step(*this, deadline_after(m_t.instance.timeouts.*gate.timeout));
      o.started = watch.wall;
      o.duration = watch.elapsed();
      o.passed = result.ok();
      if (result.ok()) {
        o.detail = std::move(result).value();
      } else {
        Error e = std::move(result).error();
        e.add_context("gate " + o.gate + " of instance " + m_t.instance.name);
        o.error = e;
        observe(o);
        return e;
      }
      observe(o);
    }
    return {};
  }

  // The steps, in gate_table()'s order below; each gets the deadline its timeout gives.

  Error gate_error(ErrorCode code, std::string message, std::string remedy = {}) const {
    if (m_qmp_up && !m_qmp.ready())
      message += "; QEMU has exited (see " + m_t.paths.qemu_log().string() + ")";
    return Error(code, std::move(message), std::move(remedy));
  }

  // QEMU's own words when it exits at start-up (bad option, missing file, busy port).
  Error with_qemu_log(Error e) const {
    const auto log = read_file(m_t.paths.qemu_log(), 1U << 20U);
    if (log && !log->empty())
      e = Error(e.code(), e.message() + "\nQEMU said:\n" + last_lines(*log, 6), e.remedy());
    return e;
  }

  Result<std::string> qemu(Deadline deadline) {
    // `up` watches a fresh boot on its own monitor, leaving qmp.sock to the other commands.
    const auto monitor =
        m_mode == GateMode::fresh_boot ? m_t.paths.qmp_up_socket() : m_t.paths.qmp_socket();
    if (auto c = m_qmp.connect_sync(monitor, deadline); !c)
      return with_qemu_log(std::move(c).error());
    m_qmp_up = true;
    std::string restored;
    if (m_mode == GateMode::fresh_boot && m_t.clone) {
      auto r = restore(deadline);
      if (!r)
        return with_qemu_log(std::move(r).error());
      restored = *r + "; ";
    }
    auto status = qmp::query_status(m_qmp, deadline);
    if (!status)
      return std::move(status).error();
    if (!status->running)
      return Error(ErrorCode::qemu, "the VM is " + status->status + ", not running",
                   "see " + m_t.paths.qemu_log().string() + " and the serial log " +
                       m_t.paths.serial_log().string());
    if (m_t.instance.cpu_affinity.empty())
      return "QMP answers; " + restored + "VM " + status->status;
    auto pinned = m_mode == GateMode::fresh_boot
                      ? instance::pin_vcpus(m_qmp, m_t.instance.cpu_affinity, deadline)
                      : instance::verify_vcpu_pinning(m_qmp, m_t.instance.cpu_affinity, deadline);
    if (!pinned)
      return std::move(pinned).error();
    return "QMP answers; " + restored + "VM " + status->status + "; " + *pinned;
  }

  // A clone's QEMU waits (-incoming defer) with its template's state file as descriptor
  // instance::state_fd: load it, then run (the template was saved paused, so is the clone).
  Result<std::string> restore(Deadline deadline) {
    const evidence::Stopwatch watch;
    if (auto s = qmp::prepare_migration(m_qmp, deadline); !s)
      return std::move(s).error();
    auto loaded =
        qmp::migrate_incoming(m_qmp, "fd:" + std::to_string(instance::state_fd), deadline);
    if (!loaded)
      return std::move(loaded).error().add_context("restoring template " +
                                                   m_t.clone->template_name);
    if (auto s = qmp::cont(m_qmp, deadline); !s)
      return std::move(s).error();
    return "restored from template " + m_t.clone->template_name + " in " +
           evidence::seconds_text(watch.elapsed());
  }

  // The whole serial log (for `check`, which does not follow the console live).
  std::string serial_log() const {
    auto log = read_file(m_t.paths.serial_log(), 64U << 20U);
    return log ? std::move(log).value() : std::string();
  }

  Result<std::string> boot(Deadline deadline) {
    if (m_t.clone)
      return "booted in template " + m_t.clone->template_name + " (its boot gate passed there)";
    const std::string marker = ready_marker();
    if (m_mode == GateMode::recheck) {
      const auto log = serial_log();
      if (log.find(kernel_banner) != std::string::npos || log.find(marker) != std::string::npos)
        return "kernel output in " + m_t.paths.serial_log().string();
      return Error(ErrorCode::guest, "no kernel output in " + m_t.paths.serial_log().string());
    }
    if (auto c = m_serial.follow(m_t.paths.serial_log(), m_t.serial_from); !c)
      return std::move(c).error();
    // Under KVM a guest that makes no progress is stopped early: a KVM that cannot run this
    // guest (nested, paravirtual) hangs silently instead of failing.
    const Deadline bound =
        m_t.kvm ? std::min(deadline, deadline_after(m_t.kvm_watchdog)) : deadline;
    const auto progress = [&] {
      return m_serial.seen(kernel_banner) || m_serial.seen(marker) || !m_qmp.ready();
    };
    m_loop.run_until(progress, bound);
    if (m_serial.seen(kernel_banner) || m_serial.seen(marker))
      return std::string("the kernel started on the serial console");
    if (!m_qmp.ready())
      return gate_error(ErrorCode::qemu, "QEMU stopped before the guest kernel started",
                        "see " + m_t.paths.qemu_log().string());
    const std::string seen = m_serial.silent() ? "nothing at all" : "only:\n" + m_serial.tail(8);
    if (m_t.kvm)
      return Error(ErrorCode::host,
                   "no boot progress under KVM within " + evidence::seconds_text(m_t.kvm_watchdog) +
                       ": the serial console showed " + seen +
                       "\nThis KVM starts guests but does not run this one (a nested or "
                       "paravirtual KVM such as kvm_pvm hangs stock kernels after the firmware)",
                   "run with --accel tcg (kvmrun preflight explains the KVM found here)");
    return Error(ErrorCode::timeout,
                 "the guest kernel did not start; the serial console showed " + seen,
                 "raise timeouts.boot, or check the image's bootloader and console=ttyS0");
  }

  // Pings until the agent answers. A failed ping is followed by a wait for the guest to open its
  // agent port (QMP's VSERPORT_CHANGE; the agent's is the instance's only virtio-serial port),
  // bounded by a backoff from 0.25 s to 5 s, so a guest whose agent never starts costs a few
  // wakeups a minute, not a busy loop. A closed channel is reconnected.
  Result<std::string> agent(Deadline deadline) {
    auto backoff = 250ms;
    while (true) {
      if (m_agent->closed()) {
        m_agent = std::make_unique<qmp::AgentClient>(m_loop);
        m_agent_connected = false;
      }
      Status pinged = m_agent_connected ? Status() : m_agent->connect(m_t.paths.agent_socket());
      m_agent_connected = pinged.ok();
      if (pinged)
        pinged = qmp::guest_ping(*m_agent, std::min(deadline, deadline_after(3s)));
      if (pinged)
        break;
      if (Clock::now() >= deadline || (m_qmp_up && !m_qmp.ready()))
        return gate_error(
            ErrorCode::timeout,
            "the guest agent did not answer guest-ping (last: " + pinged.error().message() + ")",
            "the image needs qemu-guest-agent; raise timeouts.agent for slow "
            "guests (the serial log shows how far boot got)");
      (void)m_qmp.wait_event_sync("VSERPORT_CHANGE", std::min(deadline, deadline_after(backoff)));
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
    auto info = qmp::guest_info(*m_agent, deadline);
    std::string detail = "qemu-guest-agent " + (info ? info->version : std::string("answers"));
    if (m_mode == GateMode::fresh_boot && m_t.clone) {
      auto identity = give_identity(deadline);
      if (!identity)
        return std::move(identity).error();
      detail += "; " + *identity;
    }
    return detail;
  }

  // Right after a restore the clone is its template to the letter: its clock is where the
  // template's stopped, and its name is the template's. The clock is set from the host's by
  // `date -s` (QEMU's RTC follows the host clock across the restore, so it needs nothing;
  // guest-set-time would run hwclock -w, which waits up to a second for the RTC's next tick),
  // the hostname through the agent's file calls (/proc/sys/kernel/hostname and /etc/hostname:
  // no process to start, which costs a restored guest under TCG its cold translation cache);
  // then the clone's on_clone commands run (each must exit 0). Its random generator was
  // reseeded by its kernel on the vmgenid change.
  Result<std::string> give_identity(Deadline deadline) {
    const auto& c = *m_t.clone;
    const std::string name = c.hostname;
    std::string clock = "clock set";
    const auto host_ns = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    // GNU date takes @seconds.nanoseconds; busybox's whole seconds only.
    const auto now = host_ns();
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09lld",
                  static_cast<long long>(now % 1'000'000'000));
    auto dated = qmp::guest_run(*m_agent, "/bin/date",
                                {"-u", "-s", "@" + std::to_string(now / 1'000'000'000) + fraction},
                                deadline);
    if (dated && dated->exited && dated->exit_code != 0) {
      // Whole seconds: the nearest, so the clock is at most half a second off.
      const auto rounded = (host_ns() + 500'000'000) / 1'000'000'000;
      dated = qmp::guest_run(*m_agent, "/bin/date", {"-u", "-s", "@" + std::to_string(rounded)},
                             deadline);
    }
    if (!dated || !dated->exited || dated->exit_code != 0) {
      // No `date` that sets the time from @seconds: the agent's own way.
      if (auto s = qmp::guest_set_time(*m_agent, host_ns(), deadline); !s)
        return std::move(s).error().add_context("setting the clone's clock");
      clock = "clock set (guest-set-time)";
    }
    for (const char* file : {"/proc/sys/kernel/hostname", "/etc/hostname"})
      if (auto s = qmp::guest_write_file(*m_agent, file, name + "\n", deadline); !s)
        return std::move(s).error().add_context("setting the clone's hostname to " + name);
    for (const auto& command : c.on_clone) {
      auto ran = qmp::guest_run(*m_agent, "/bin/sh", {"-c", command}, deadline);
      if (!ran)
        return std::move(ran).error().add_context("on_clone command `" + command + "`");
      if (!ran->exited || ran->exit_code != 0)
        return Error(ErrorCode::guest,
                     "on_clone command `" + command + "` exited " +
                         (ran->exited ? std::to_string(ran->exit_code)
                                      : "on signal " + std::to_string(ran->signal)) +
                         ": " + last_lines(ran->out + ran->err, 5),
                     "fix the command in the instance's on_clone list");
    }
    return clock + ", hostname " + name +
           (c.on_clone.empty() ? std::string()
                               : ", " + std::to_string(c.on_clone.size()) + " on_clone command(s)");
  }

  Result<std::string> ports(Deadline deadline) {
    std::string detail;
    for (const auto& f : m_t.instance.forwards) {
      const std::string where = f.host_address + ":" + std::to_string(f.host_port);
      if (f.protocol == lab::Protocol::udp) {
        detail += (detail.empty() ? "" : ", ") + where + "/udp (not probed)";
        continue;
      }
      while (!port_serves(m_loop, f.host_address, f.host_port, 300ms, deadline)) {
        if (Clock::now() >= deadline || !m_qmp.ready())
          return gate_error(ErrorCode::timeout,
                            "nothing in the guest answered on port " +
                                std::to_string(f.guest_port) + " (forwarded from " + where + ")",
                            "check that the service starts in the guest; raise "
                            "timeouts.network");
        pause(m_loop, poll_interval, deadline);
      }
      detail += (detail.empty() ? "" : ", ") + where + " -> " + std::to_string(f.guest_port);
    }
    return detail.empty() ? std::string("no forwards") : detail;
  }

  // Every NIC the instance has, found by MAC: the user-mode one with its static address or a
  // DHCP IPv4 address, each one on a lab network with its static address.
  Result<std::string> addresses(Deadline deadline) {
    struct Wanted {
      std::string mac;
      std::optional<std::string> address; // absent: any IPv4 (DHCP)
    };
    std::vector<Wanted> wanted;
    const auto& net = m_t.instance.seed.network;
    if (m_t.instance.seed.user_nic)
      wanted.push_back({net.mac, net.address});
    for (const auto& nic : m_t.instance.seed.segment_nics)
      wanted.push_back({nic.mac, nic.address});
    std::string last;
    while (true) {
      auto ifaces =
          qmp::guest_network_interfaces(*m_agent, std::min(deadline, deadline_after(10s)));
      std::string detail;
      last.clear();
      for (const auto& w : wanted) {
        const qmp::GuestInterface* found = nullptr;
        if (ifaces)
          for (const auto& i : *ifaces)
            if (i.mac == w.mac)
              found = &i;
        if (found == nullptr) {
          last = "no interface with MAC " + w.mac;
          break;
        }
        std::string v4;
        for (const auto& a : found->addresses)
          if (a.find('.') != std::string::npos)
            v4 = v4.empty() ? a : v4;
        const bool ok = w.address ? std::find(found->addresses.begin(), found->addresses.end(),
                                              *w.address) != found->addresses.end()
                                  : !v4.empty();
        if (!ok) {
          last = found->name + " has " + (v4.empty() ? "no IPv4 address" : v4) +
                 (w.address ? ", not " + *w.address : std::string(" yet"));
          break;
        }
        detail += (detail.empty() ? "" : ", ") + found->name + " " +
                  (w.address ? *w.address + " (static)" : v4 + " (DHCP)");
      }
      if (last.empty())
        return wanted.empty() ? std::string("no network interfaces") : detail;
      if (Clock::now() >= deadline || !m_qmp.ready())
        return gate_error(ErrorCode::timeout, "guest address not as expected: " + last,
                          "check the instance's network settings and the guest's network "
                          "configuration (networkctl, cloud-init's network-config)");
      pause(m_loop, poll_interval, deadline);
    }
  }

  // Every other member of each lab network the instance is on answers a ping from inside the
  // guest (through the agent), within the gate's bound. Names the pair and the network.
  Result<std::string> peers(Deadline deadline) {
    if (m_t.peers.empty())
      return std::string(m_t.instance.attachments.empty() ? "no lab networks"
                                                          : "no other members running");
    std::string detail;
    for (const auto& p : m_t.peers) {
      const std::string ping = "ping -c 1 -W 1 " + p.address;
      std::string seen;
      while (true) {
        auto r = qmp::guest_run(*m_agent, "/bin/sh", {"-c", ping + " || busybox " + ping},
                                std::min(deadline, deadline_after(15s)));
        if (r && r->exited && r->exit_code == 0)
          break;
        seen = r ? last_lines(r->out + r->err, 2) : r.error().message();
        if (Clock::now() >= deadline || !m_qmp.ready())
          return gate_error(ErrorCode::timeout,
                            m_t.instance.name + " does not reach " + p.instance + " (" + p.address +
                                ") on network " + p.network + "; ping said: " + seen,
                            "is " + p.instance +
                                " up (`kvmrun status`)? check both guests' "
                                "addresses on " +
                                p.network + " (`kvmrun check`)");
        pause(m_loop, poll_interval, deadline);
      }
      detail += (detail.empty() ? "" : ", ") + p.instance + "." + p.network;
    }
    return "reaches " + detail;
  }

  Result<std::string> disks(Deadline deadline) {
    if (m_t.instance.disks.empty())
      return std::string("no extra disks");
    auto block = qmp::query_block(m_qmp, deadline);
    if (!block)
      return std::move(block).error();
    for (std::size_t i = 0; i < m_t.instance.disks.size(); ++i) {
      const std::string node = instance::extra_disk_node(i);
      const bool attached = std::any_of(block->begin(), block->end(), [&](const json::value& v) {
        const auto* o = v.if_object();
        const auto* ins = o ? o->if_contains("inserted") : nullptr;
        const auto* name =
            ins && ins->is_object() ? ins->as_object().if_contains("node-name") : nullptr;
        return name && name->is_string() && name->as_string() == node;
      });
      if (!attached)
        return Error(ErrorCode::qemu, "disk '" + m_t.instance.disks[i].name + "' (block node " +
                                          node + ") is not attached");
    }
    std::string missing;
    while (true) {
      missing.clear();
      auto mounts = qmp::guest_read_file(*m_agent, "/proc/mounts", deadline);
      for (const auto& d : m_t.instance.disks) {
        if (d.mount_point.empty())
          continue;
        if (!mounts || mounts->find(" " + d.mount_point + " ") == std::string::npos)
          missing += (missing.empty() ? "" : ", ") + d.name + " at " + d.mount_point;
      }
      if (missing.empty())
        break;
      if (Clock::now() >= deadline || !m_qmp.ready())
        return gate_error(ErrorCode::timeout, "not mounted in the guest: " + missing,
                          "see cloud-init's disk_setup/mounts in the guest's "
                          "/var/log/cloud-init.log");
      pause(m_loop, poll_interval, deadline);
    }
    std::string detail;
    for (const auto& d : m_t.instance.disks)
      detail += (detail.empty() ? "" : ", ") + d.name +
                (d.mount_point.empty() ? " attached" : " at " + d.mount_point);
    return detail;
  }

  std::string ready_marker() const {
    return std::string(seeds::ready_marker) + " instance-id=" + m_t.provenance.instance_id;
  }

  Result<std::string> cloud_init(Deadline deadline) {
    const std::string marker = ready_marker();
    if (m_t.clone) {
      auto result = cloud_init_result(deadline);
      if (!result)
        return std::move(result).error();
      return *result + " (in template " + m_t.clone->template_name + ", instance-id " +
             m_t.clone->template_instance_id + ")";
    }
    if (m_mode == GateMode::recheck) {
      if (serial_log().find(marker) == std::string::npos)
        return Error(ErrorCode::guest, "the serial log has no '" + marker + "'",
                     "the guest runs another seed than this lab's; `kvmrun down` then `up`");
    } else if (!m_serial.wait_for(marker, deadline, [&] { return !m_qmp.ready(); })) {
      return gate_error(ErrorCode::timeout,
                        "no '" + marker + "' on the serial console; it showed last:\n" +
                            m_serial.tail(10),
                        "raise timeouts.cloud_init, or read the guest's /var/log/cloud-init.log "
                        "(kvmrun exec INSTANCE -- cat /var/log/cloud-init.log)");
    }
    return cloud_init_result(deadline);
  }

  // cloud-init's /run/cloud-init/result.json, without errors (it prints the final message a
  // moment before it writes the file). It is read first (a clone's cloud-init finished in its
  // template, so it is there or the image has none); only its absence asks whether the image
  // has cloud-init at all: one without applied the seed itself.
  Result<std::string> cloud_init_result(Deadline deadline) {
    const std::string file = "/run/cloud-init/result.json";
    auto result = qmp::guest_read_file(*m_agent, file, deadline);
    if (!result) {
      auto which = qmp::guest_run(*m_agent, "/bin/sh", {"-c", "command -v cloud-init"}, deadline);
      if (!which || which->exit_code != 0)
        return std::string("no cloud-init in the image: its own init applied the seed");
      result = qmp::guest_read_file(*m_agent, file, deadline);
    }
    while (!result && Clock::now() < deadline) {
      pause(m_loop, poll_interval, deadline);
      result = qmp::guest_read_file(*m_agent, file, deadline);
    }
    if (!result)
      return Error(ErrorCode::guest,
                   "cloud-init printed its final message but wrote no "
                   "/run/cloud-init/result.json",
                   "read /var/log/cloud-init.log in the guest");
    boost::system::error_code ec;
    const auto doc = json::parse(*result, ec);
    const json::value* errors = nullptr;
    if (!ec && doc.is_object())
      if (const auto* v1 = doc.as_object().if_contains("v1"); v1 && v1->is_object())
        errors = v1->as_object().if_contains("errors");
    if (errors == nullptr || !errors->is_array())
      return Error(ErrorCode::guest, "cloud-init's result.json is not what cloud-init writes: " +
                                         result->substr(0, 200));
    if (!errors->as_array().empty())
      return Error(ErrorCode::guest, "cloud-init finished with errors: " + json::serialize(*errors),
                   "read /var/log/cloud-init.log in the guest (kvmrun exec INSTANCE -- cat "
                   "/var/log/cloud-init.log)");
    return std::string("cloud-init done without errors");
  }

  Result<std::string> provenance(Deadline) {
    const auto& want = m_t.provenance;
    const auto file = m_t.paths.provenance();
    if (m_mode == GateMode::fresh_boot) {
      if (auto w = instance::write_provenance(file, want); !w)
        return std::move(w).error();
      return "instance-id " + want.instance_id + ", base " + want.base_digest.substr(0, 19) + "…" +
             (want.template_name.empty() ? "" : ", template " + want.template_name);
    }
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
      return Error(ErrorCode::guest, "no provenance record at " + file.string(),
                   "the instance was not brought up by `kvmrun up`; `kvmrun down` then `up`");
    auto recorded = instance::read_provenance(file);
    if (!recorded)
      return std::move(recorded).error();
    if (recorded->instance_id != want.instance_id)
      return Error(ErrorCode::guest,
                   "the running guest was provisioned from another definition (instance-id \"" +
                       recorded->instance_id + "\", the lab now gives " + want.instance_id + ")",
                   "`kvmrun down` then `kvmrun up` to apply the lab's current definition");
    return "instance-id " + want.instance_id + ", config " + recorded->config_hash.substr(0, 12);
  }

private:
  const GateTarget& m_t;
  GateMode m_mode;
  EventLoop m_loop;
  qmp::QmpClient m_qmp;
  SerialWatch m_serial;
  std::unique_ptr<qmp::AgentClient> m_agent; // replaced when its connection closes
  bool m_agent_connected = false;
  bool m_qmp_up = false;
};

namespace {

template <Result<std::string> (GateRun::*Step)(Deadline)>
Result<std::string> step(GateRun& run, Deadline deadline) {
  return (run.*Step)(deadline);
}

using lab::Timeouts;

// Addresses before ports: until the guest is on the network, user networking holds a forwarded
// connection open while it retries the guest, and a port nothing serves would look served.
constexpr auto gates = std::to_array<Gate>({
    {"qemu", "qemu", &Timeouts::qemu, &step<&GateRun::qemu>},
    {"boot", "boot", &Timeouts::boot, &step<&GateRun::boot>},
    {"agent", "agent", &Timeouts::agent, &step<&GateRun::agent>},
    {"addresses", "network", &Timeouts::network, &step<&GateRun::addresses>},
    {"peers", "network", &Timeouts::network, &step<&GateRun::peers>},
    {"ports", "network", &Timeouts::network, &step<&GateRun::ports>},
    {"disks", "disks", &Timeouts::disks, &step<&GateRun::disks>},
    {"cloud-init", "cloud_init", &Timeouts::cloud_init, &step<&GateRun::cloud_init>},
    {"provenance", "qemu", &Timeouts::qemu, &step<&GateRun::provenance>},
});

} // namespace

std::span<const Gate> gate_table() { return gates; }

std::vector<std::string> gate_names() {
  std::vector<std::string> names;
  for (const auto& g : gates)
    names.emplace_back(g.name);
  return names;
}

std::chrono::milliseconds gate_timeout(std::string_view gate, const lab::Timeouts& timeouts) {
  for (const auto& g : gates)
    if (g.name == gate)
      return timeouts.*(g.timeout);
  return std::chrono::milliseconds(0);
}

std::chrono::milliseconds gates_bound(const lab::Timeouts& timeouts) {
  std::chrono::milliseconds sum{0};
  for (const auto& g : gates)
    sum += timeouts.*(g.timeout);
  return sum;
}

Status run_gates(const GateTarget& target, GateMode mode, const GateObserver& observe,
                 const std::function<void(std::string_view gate)>& starting) {
  GateRun run(target, mode);
  return run.run(observe, starting);
}

} // namespace kvmrun::readiness
