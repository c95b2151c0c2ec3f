// `kvmrun forward add|remove|list INSTANCE [[HOST:]PORT:GUEST_PORT[/udp]] [--public]`: port
// forwards of a running instance changed without restarting it (QEMU's hostfwd_add and
// hostfwd_remove through QMP), checked against every forward of the lab and against host ports
// already in use, and recorded (instance/runtime_forwards.hpp). Bound to 127.0.0.1 unless
// --public (or an address) says otherwise.
#include "base/lock_file.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "instance/qemu_argv.hpp"
#include "instance/qemu_process.hpp"
#include "instance/runtime_forwards.hpp"
#include "lab/values.hpp"
#include "qmp/commands.hpp"
#include "qmp/qmp_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view usage =
    "kvmrun forward add|remove|list INSTANCE [[HOST:]PORT:GUEST_PORT[/udp]] [--public]";

// Whether something on this host already has the port (bound, or listening).
bool host_port_busy(const lab::PortForward& f) {
  const int type = f.protocol == lab::Protocol::udp ? SOCK_DGRAM : SOCK_STREAM;
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); // TIME_WAIT is not busy
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(f.host_port);
  ::inet_pton(AF_INET, f.host_address.c_str(), &sa.sin_addr);
  const bool busy =
      ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 && errno == EADDRINUSE;
  ::close(fd);
  return busy;
}

// The instance (and its forward) already forwarding this host port, if any. A damaged record
// of another instance's forwards is its error, not a free port.
Result<std::optional<std::string>> taken_by(const LabContext& ctx, const lab::PortForward& wanted) {
  for (const auto& i : ctx.lab.instances) {
    auto all = instance::current_forwards(i, ctx.paths(i));
    if (!all)
      return std::move(all).error();
    for (const auto& f : *all)
      if (lab::same_host_port(f, wanted))
        return std::optional<std::string>(i.name + " (" + lab::forward_text(f) + ")");
  }
  return std::optional<std::string>();
}

} // namespace

int run_forward(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                const CliEnvironment& env) {
  const auto& pos = args.positional;
  const std::string action = pos.empty() ? "" : pos[0];
  if (action != "add" && action != "remove" && action != "list")
    return fail(err, Error(ErrorCode::usage,
                           action.empty() ? "forward needs add, remove or list"
                                          : "unknown forward action '" + action + "'",
                           "usage: " + std::string(usage)));
  const std::size_t want = action == "list" ? 2 : 3;
  if (pos.size() != want)
    return fail(err, Error(ErrorCode::usage,
                           "forward " + action + " takes " +
                               (want == 2 ? "an instance" : "an instance and a forward"),
                           "usage: " + std::string(usage)));
  auto found = one_instance(args, env, 1, std::string(usage));
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  const auto paths = ctx.paths(*instance);
  auto added = instance::read_runtime_forwards(paths);
  if (!added)
    return fail(err, added.error());

  if (action == "list") {
    for (const auto& f : instance->forwards)
      out << lab::forward_text(f) << "  (lab)\n";
    for (const auto& f : *added)
      out << lab::forward_text(f) << "  (added)\n";
    return 0;
  }
  const bool public_bind = args.has("--public");
  auto forward = lab::parse_forward_spec(pos[2], public_bind);
  if (!forward)
    return fail(err, Error(ErrorCode::usage, "'" + pos[2] + "' is not a forward",
                           "write [HOST:]PORT:GUEST_PORT[/udp], e.g. 8080:80"));
  if (!lab::is_loopback_ipv4(forward->host_address) && !public_bind)
    return fail(err, Error(ErrorCode::usage,
                           "forwarding from " + forward->host_address +
                               " exposes the guest beyond this host",
                           "add --public to mean it"));
  if (!instance->user_network)
    return fail(err, Error(ErrorCode::usage,
                           "instance '" + instance->name +
                               "' has no user-mode NIC, which forwards go through",
                           "set user_network = true for it in the lab"));
  if (!instance::running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  // One kvmrun at a time changes the lab's forwards, so that the checks below, QEMU and the
  // record stay in step when several run at once.
  auto held = lock_directory(paths.lab_runtime(), 30s, "the forwards of lab " + ctx.lab.name);
  if (!held)
    return fail(err, held.error());
  added = instance::read_runtime_forwards(paths);
  if (!added)
    return fail(err, added.error());

  const auto mine = std::find_if(added->begin(), added->end(), [&](const lab::PortForward& f) {
    return lab::same_host_port(f, *forward);
  });
  if (action == "remove" && mine == added->end()) {
    const bool declared =
        std::any_of(instance->forwards.begin(), instance->forwards.end(),
                    [&](const lab::PortForward& f) { return lab::same_host_port(f, *forward); });
    return fail(err, Error(ErrorCode::usage,
                           declared ? lab::forward_text(*forward) +
                                          " is declared in the lab; it stays while the instance "
                                          "runs"
                                    : "instance '" + instance->name + "' has no added forward " +
                                          lab::forward_text(*forward),
                           declared ? "remove it from the lab and restart the instance"
                                    : "see kvmrun forward list " + instance->name));
  }
  if (action == "add") {
    auto other = taken_by(ctx, *forward);
    if (!other)
      return fail(err, other.error());
    if (*other)
      return fail(err, Error(ErrorCode::usage,
                             "host port " + lab::forward_text(*forward) +
                                 " is already forwarded to " + **other,
                             "pick another host port"));
    if (host_port_busy(*forward))
      return fail(err, Error(ErrorCode::busy,
                             "host port " + forward->host_address + ":" +
                                 std::to_string(forward->host_port) + " is in use on this host",
                             "pick another host port (ss -ltnup shows who has it)"));
  }

  EventLoop loop;
  qmp::QmpClient monitor(loop);
  if (auto c = monitor.connect_sync(paths.qmp_socket(), deadline_after(10s)); !c)
    return fail(err, c.error());
  const std::string line = action == "add"
                               ? "hostfwd_add net0 " + instance::hostfwd_rule(*forward)
                               : "hostfwd_remove net0 " + instance::hostfwd_source(*mine);
  auto said = qmp::human_monitor_command(monitor, line, deadline_after(10s));
  if (!said)
    return fail(err, said.error());
  // hostfwd_add says nothing when it worked; hostfwd_remove says "... removed".
  const bool done = action == "add" ? said->empty()
                                    : said->find(" removed") != std::string::npos &&
                                          said->find("could not") == std::string::npos;
  if (!done)
    return fail(err, Error(ErrorCode::qemu, "QEMU refused `" + line + "`: " + *said,
                           "check the port; kvmrun forward list " + instance->name));
  const lab::PortForward changed = action == "add" ? *forward : *mine;
  if (action == "add")
    added->push_back(*forward);
  else
    added->erase(mine);
  if (auto w = instance::write_runtime_forwards(paths, *added); !w)
    return fail(err, w.error());
  out << instance->name << ": " << (action == "add" ? "added " : "removed ")
      << lab::forward_text(changed) << "\n";
  return 0;
}

} // namespace kvmrun::cli
