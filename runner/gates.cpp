#include "runner/gates.hpp"

#include "base/file_io.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"
#include "runner/evidence.hpp"
#include "runner/qemu_argv.hpp"
#include "runner/serial_watch.hpp"
#include "seeds/cloud_init.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kvmrun::runner {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Waits on the loop until `deadline` (or until the loop's done() says so).
void pause(EventLoop& loop, std::chrono::milliseconds d, Deadline deadline) {
  const Deadline until = std::min(deadline, Clock::now() + d);
  loop.run_until([] { return false; }, until);
}

class GateRun {
public:
  GateRun(const GateTarget& t, GateMode mode)
      : m_t(t), m_mode(mode), m_qmp(m_loop), m_serial(m_loop), m_agent(m_loop) {}

  Status run(const GateObserver& observe) {
    using Step = Result<std::string> (GateRun::*)(Deadline);
    const std::vector<std::pair<Step, std::chrono::milliseconds>> steps{
        {&GateRun::qemu, m_t.instance.timeouts.qemu},
        {&GateRun::boot, m_t.instance.timeouts.boot},
        {&GateRun::agent, m_t.instance.timeouts.agent},
        // Addresses first: until the guest is on the network, user networking holds a
        // forwarded connection open while it retries the guest, and a port nothing serves
        // would look served.
        {&GateRun::addresses, m_t.instance.timeouts.network},
        {&GateRun::ports, m_t.instance.timeouts.network},
        {&GateRun::disks, m_t.instance.timeouts.disks},
        {&GateRun::cloud_init, m_t.instance.timeouts.cloud_init},
        {&GateRun::provenance, m_t.instance.timeouts.qemu}};
    for (std::size_t i = 0; i < steps.size(); ++i) {
      GateOutcome o;
      o.instance = m_t.instance.name;
      o.gate = gate_names()[i];
      const Stopwatch watch;
      auto result = (this->*steps[i].first)(deadline_after(steps[i].second));
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

private:
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
    auto status = qmp::query_status(m_qmp, deadline);
    if (!status)
      return std::move(status).error();
    if (!status->running)
      return Error(ErrorCode::qemu, "the VM is " + status->status + ", not running",
                   "see " + m_t.paths.qemu_log().string() + " and the serial log " +
                       m_t.paths.serial_log().string());
    return "QMP answers; VM " + status->status;
  }

  // The whole serial log (for `check`, which does not follow the console live).
  std::string serial_log() const {
    auto log = read_file(m_t.paths.serial_log(), 64U << 20U);
    return log ? std::move(log).value() : std::string();
  }

  Result<std::string> boot(Deadline deadline) {
    const std::string marker = ready_marker();
    if (m_mode == GateMode::recheck) {
      const auto log = serial_log();
      if (log.find(kernel_banner) != std::string::npos || log.find(marker) != std::string::npos)
        return "kernel output in " + m_t.paths.serial_log().string();
      return Error(ErrorCode::guest, "no kernel output in " + m_t.paths.serial_log().string());
    }
    if (auto c = m_serial.connect(m_t.paths.serial_socket()); !c)
      return std::move(c).error();
    // Under KVM a guest that makes no progress is stopped early: a KVM that cannot run this
    // guest (nested, paravirtual) hangs silently instead of failing.
    const Deadline bound =
        m_t.kvm ? std::min(deadline, deadline_after(m_t.kvm_watchdog)) : deadline;
    const auto progress = [&] {
      return m_serial.seen(kernel_banner) || m_serial.seen(marker) || m_serial.closed() ||
             !m_qmp.ready();
    };
    m_loop.run_until(progress, bound);
    if (m_serial.seen(kernel_banner) || m_serial.seen(marker))
      return std::string("the kernel started on the serial console");
    if (!m_qmp.ready() || m_serial.closed())
      return gate_error(ErrorCode::qemu, "QEMU stopped before the guest kernel started",
                        "see " + m_t.paths.qemu_log().string());
    const std::string seen = m_serial.silent() ? "nothing at all" : "only:\n" + m_serial.tail(8);
    if (m_t.kvm)
      return Error(ErrorCode::host,
                   "no boot progress under KVM within " + seconds_text(m_t.kvm_watchdog) +
                       ": the serial console showed " + seen +
                       "\nThis KVM starts guests but does not run this one (a nested or "
                       "paravirtual KVM such as kvm_pvm hangs stock kernels after the firmware)",
                   "run with --accel tcg (kvmrun preflight explains the KVM found here)");
    return Error(ErrorCode::timeout,
                 "the guest kernel did not start; the serial console showed " + seen,
                 "raise timeouts.boot, or check the image's bootloader and console=ttyS0");
  }

  Result<std::string> agent(Deadline deadline) {
    if (auto c = m_agent.connect(m_t.paths.agent_socket()); !c)
      return std::move(c).error();
    while (true) {
      const auto attempt = std::min(deadline, deadline_after(3s));
      if (qmp::guest_ping(m_agent, attempt).ok())
        break;
      if (Clock::now() >= deadline || (m_qmp_up && !m_qmp.ready()))
        return gate_error(ErrorCode::timeout, "the guest agent did not answer guest-ping",
                          "the image needs qemu-guest-agent; raise timeouts.agent for slow "
                          "guests (the serial log shows how far boot got)");
    }
    auto info = qmp::guest_info(m_agent, deadline);
    return "qemu-guest-agent " + (info ? info->version : std::string("answers"));
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
        pause(m_loop, 500ms, deadline);
      }
      detail += (detail.empty() ? "" : ", ") + where + " -> " + std::to_string(f.guest_port);
    }
    return detail.empty() ? std::string("no forwards") : detail;
  }

  Result<std::string> addresses(Deadline deadline) {
    const auto& net = m_t.instance.seed.network;
    std::string last = "no interface with MAC " + net.mac;
    while (true) {
      auto ifaces = qmp::guest_network_interfaces(m_agent, std::min(deadline, deadline_after(10s)));
      if (ifaces) {
        for (const auto& i : *ifaces) {
          if (i.mac != net.mac)
            continue;
          std::string v4;
          for (const auto& a : i.addresses)
            if (a.find('.') != std::string::npos)
              v4 = v4.empty() ? a : v4;
          if (net.address) {
            if (std::find(i.addresses.begin(), i.addresses.end(), *net.address) !=
                i.addresses.end())
              return i.name + " " + *net.address + " (static)";
            last =
                i.name + " has " + (v4.empty() ? "no IPv4 address" : v4) + ", not " + *net.address;
          } else if (!v4.empty()) {
            return i.name + " " + v4 + " (DHCP)";
          } else {
            last = i.name + " has no IPv4 address yet";
          }
        }
      }
      if (Clock::now() >= deadline || !m_qmp.ready())
        return gate_error(ErrorCode::timeout, "guest address not as expected: " + last,
                          "check the instance's network settings and the guest's network "
                          "configuration (networkctl, cloud-init's network-config)");
      pause(m_loop, 1s, deadline);
    }
  }

  Result<std::string> disks(Deadline deadline) {
    if (m_t.instance.disks.empty())
      return std::string("no extra disks");
    auto block = qmp::query_block(m_qmp, deadline);
    if (!block)
      return std::move(block).error();
    for (std::size_t i = 0; i < m_t.instance.disks.size(); ++i) {
      const std::string node = extra_disk_node(i);
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
      auto mounts = qmp::guest_read_file(m_agent, "/proc/mounts", deadline);
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
      pause(m_loop, 1s, deadline);
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
    if (m_mode == GateMode::recheck) {
      if (serial_log().find(marker) == std::string::npos)
        return Error(ErrorCode::guest, "the serial log has no '" + marker + "'",
                     "the guest runs another seed than this lab's; `kvmrun down` then `up`");
    } else if (!m_serial.wait_for(marker, deadline)) {
      return gate_error(ErrorCode::timeout,
                        "no '" + marker + "' on the serial console; it showed last:\n" +
                            m_serial.tail(10),
                        "raise timeouts.cloud_init, or read the guest's /var/log/cloud-init.log "
                        "(kvmrun exec INSTANCE -- cat /var/log/cloud-init.log)");
    }
    // cloud-init prints the final message a moment before it writes result.json.
    auto which = qmp::guest_run(m_agent, "/bin/sh", {"-c", "command -v cloud-init"}, deadline);
    if (!which || which->exit_code != 0)
      return std::string("marker seen; the image's own init applied the seed (no cloud-init)");
    auto result = qmp::guest_read_file(m_agent, "/run/cloud-init/result.json", deadline);
    while (!result && Clock::now() < deadline) {
      pause(m_loop, 500ms, deadline);
      result = qmp::guest_read_file(m_agent, "/run/cloud-init/result.json", deadline);
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
    const auto& p = m_t.provenance;
    json::array argv;
    for (const auto& a : p.argv)
      argv.emplace_back(a);
    const json::object doc{{"lab", m_t.lab},
                           {"instance", m_t.instance.name},
                           {"config_hash", p.config_hash},
                           {"base_digest", p.base_digest},
                           {"seed_sha256", p.seed_sha256},
                           {"instance_id", p.instance_id},
                           {"argv", argv}};
    if (m_mode == GateMode::recheck) {
      const auto recorded = read_file(m_t.paths.provenance(), 1U << 20U);
      boost::system::error_code ec;
      const auto old = recorded ? json::parse(*recorded, ec) : json::value();
      const auto* o = old.if_object();
      if (o == nullptr || !o->contains("config_hash") || !o->contains("instance_id"))
        return Error(ErrorCode::guest,
                     "no provenance record at " + m_t.paths.provenance().string());
      if (o->at("instance_id") != json::value(p.instance_id))
        return Error(ErrorCode::guest,
                     "the running guest was provisioned from another definition (instance-id " +
                         json::serialize(o->at("instance_id")) + ", the lab now gives " +
                         p.instance_id + ")",
                     "`kvmrun down` then `kvmrun up` to apply the lab's current definition");
      return "instance-id " + p.instance_id + ", config " +
             std::string(o->at("config_hash").as_string()).substr(0, 12);
    }
    if (auto w = write_file_atomic(m_t.paths.provenance(), json::serialize(doc) + "\n", 0600); !w)
      return std::move(w).error();
    return "instance-id " + p.instance_id + ", base " + p.base_digest.substr(0, 19) + "…";
  }

  const GateTarget& m_t;
  GateMode m_mode;
  EventLoop m_loop;
  qmp::QmpClient m_qmp;
  SerialWatch m_serial;
  qmp::AgentClient m_agent;
  bool m_qmp_up = false;
};

} // namespace

const std::vector<std::string>& gate_names() {
  static const std::vector<std::string> names{"qemu",  "boot",  "agent",      "addresses",
                                              "ports", "disks", "cloud-init", "provenance"};
  return names;
}

bool port_serves(EventLoop& loop, const std::string& address, std::uint16_t port,
                 std::chrono::milliseconds settle, Deadline deadline) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    return false;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return false;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
      errno != EINPROGRESS)
    return false;
  enum class State { connecting, open, served, refused } state = State::connecting;
  Deadline settle_until{};
  EventLoop::TimerId settle_timer = 0;
  loop.watch(fd.get(), true, true, [&](unsigned events) {
    if (state == State::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        state = State::refused;
        return;
      }
      state = State::open;
      settle_until = Clock::now() + settle;
      settle_timer = loop.add_timer(settle_until, [] {}); // wakes the loop to decide
      loop.update(fd.get(), true, false);
      if ((events & EventLoop::readable) == 0U)
        return;
    }
    char c = 0;
    const ssize_t n = ::recv(fd.get(), &c, 1, MSG_PEEK);
    state = n > 0 ? State::served : (n < 0 && errno == EAGAIN ? state : State::refused);
  });
  loop.run_until(
      [&] {
        return state == State::served || state == State::refused ||
               (state == State::open && Clock::now() >= settle_until);
      },
      std::min(deadline, Clock::now() + settle + 5s));
  loop.unwatch(fd.get());
  if (settle_timer != 0)
    loop.cancel_timer(settle_timer);
  return state == State::served || state == State::open;
}

Status run_gates(const GateTarget& target, GateMode mode, const GateObserver& observe) {
  GateRun run(target, mode);
  return run.run(observe);
}

} // namespace kvmrun::runner
