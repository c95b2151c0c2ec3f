// `kvmrun ssh INSTANCE [--user USER] [--print] [--reset-host-key] [-- COMMAND...]`: the system
// ssh client to the instance's forwarded SSH port, with the lab's key (instance/lab_key) and the
// guest's host keys as kvmrun read them through its agent (instance/host_keys), checked
// strictly. Before each connection the agent is asked again, so a changed host key is refused
// with an explanation instead of ssh's alarm; ssh's own strict check still guards the port.
// The exit code is ssh's.
#include "base/subprocess.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/views.hpp"
#include "instance/host_keys.hpp"
#include "instance/lab_key.hpp"
#include "instance/provenance.hpp"
#include "instance/qemu_process.hpp"
#include "instance/runtime_forwards.hpp"
#include "lab/values.hpp"
#include "qmp/agent_client.hpp"
#include "ssh/client_argv.hpp"

#include <algorithm>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view usage =
    "kvmrun ssh INSTANCE [--user USER] [--print] [--reset-host-key] [-- COMMAND...]";

// Where the instance's SSH server is reachable from here: its first forward to guest port 22.
Result<lab::PortForward> ssh_forward(const lab::InstanceSpec& instance,
                                     const instance::InstancePaths& paths) {
  auto forwards = instance::current_forwards(instance, paths);
  if (!forwards)
    return std::move(forwards).error();
  for (auto f : *forwards)
    if (f.protocol == lab::Protocol::tcp && f.guest_port == 22) {
      if (f.host_address == "0.0.0.0")
        f.host_address = "127.0.0.1";
      return f;
    }
  return Error(ErrorCode::config,
               "instance '" + instance.name + "' has no forward to its SSH port 22",
               "add one while it runs: `kvmrun forward add " + instance.name +
                   " 2222:22`, or declare it: forwards = [{ host = 2222, guest = 22 }] under "
                   "[instances." +
                   instance.name + "]");
}

bool same_keys(std::vector<ssh::PublicKey> a, std::vector<ssh::PublicKey> b) {
  const auto order = [](const ssh::PublicKey& x, const ssh::PublicKey& y) {
    return std::tie(x.type, x.blob) < std::tie(y.type, y.blob);
  };
  std::sort(a.begin(), a.end(), order);
  std::sort(b.begin(), b.end(), order);
  return a == b;
}

std::string fingerprints(const std::vector<ssh::PublicKey>& keys) {
  std::string out;
  for (const auto& k : keys)
    out.append(out.empty() ? "" : ", ").append(k.type).append(" ").append(ssh::fingerprint(k));
  return out;
}

// The known-hosts record ssh is to check against, read (again) from the guest when there is
// none, when the guest has a new instance-id (cloud-init made new host keys) or when asked;
// otherwise compared with what the guest has now.
Status verified_host_keys(const lab::InstanceSpec& instance, const instance::InstancePaths& paths,
                          const std::string& alias, bool reset, std::ostream& err) {
  auto record = instance::read_host_key_record(paths, alias, instance.name);
  if (!record && !reset)
    return std::move(record).error();
  std::string instance_id;
  std::error_code ec;
  if (std::filesystem::exists(paths.provenance(), ec)) {
    auto prov = instance::read_provenance(paths.provenance());
    if (!prov)
      return std::move(prov).error();
    instance_id = prov->instance_id;
  }
  const bool known = record && *record && !reset;
  const bool same_instance = known && (*record)->instance_id == instance_id;

  EventLoop loop;
  qmp::AgentClient agent(loop);
  const auto deadline = deadline_after(15s);
  auto keys = [&]() -> Result<std::vector<ssh::PublicKey>> {
    if (auto c = agent.connect(paths.agent_socket()); !c)
      return std::move(c).error();
    return instance::read_guest_host_keys(agent, deadline);
  }();
  if (!keys) {
    if (same_instance) // ssh still checks the record strictly
      return {};
    return std::move(keys).error().add_context("reading the SSH host keys of " + instance.name +
                                               " through its guest agent");
  }
  if (same_instance) {
    if (same_keys((*record)->keys, *keys))
      return {};
    return Error(ErrorCode::guest,
                 "the SSH host keys of " + instance.name +
                     " changed since kvmrun read them through its agent (recorded: " +
                     fingerprints((*record)->keys) + "; now: " + fingerprints(*keys) +
                     "); ssh is not started",
                 "if they were regenerated on purpose, `kvmrun ssh " + instance.name +
                     " --reset-host-key` records the new ones; otherwise find out who changed "
                     "them in the guest");
  }
  if (known)
    err << "kvmrun: " << instance.name << " has a new instance-id, so cloud-init made new host "
        << "keys: read again through its agent\n";
  const ssh::HostKeys fresh{alias, instance_id, std::move(keys).value()};
  return instance::write_host_key_record(paths, fresh);
}

} // namespace

int run_ssh(const ParsedArgs& args, std::ostream& out, std::ostream& err,
            const CliEnvironment& env) {
  if (args.positional.size() != 1)
    return fail(err, Error(ErrorCode::usage, "ssh takes one instance name",
                           "usage: " + std::string(usage)));
  auto found = one_instance(args, env, 0, std::string(usage));
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  const auto paths = ctx.paths(*instance);
  if (!instance::running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  const auto user = args.value("--user");
  if (user && !lab::is_valid_user_name(*user))
    return fail(err, Error(ErrorCode::usage, "--user takes a user name, got '" + *user + "'"));
  auto forward = ssh_forward(*instance, paths);
  if (!forward)
    return fail(err, forward.error());
  const char* search = env.getenv("PATH");
  const auto client = find_executable("ssh", search != nullptr ? search : "/usr/bin:/bin");
  if (!client)
    return fail(err, Error(ErrorCode::host, "there is no ssh client on this host (none in PATH)",
                           "install OpenSSH's client: apt-get install openssh-client"));
  auto key = instance::existing_lab_key(ctx.lab_state());
  if (!key)
    return fail(err, key.error());
  if (!*key)
    return fail(err, Error(ErrorCode::config,
                           "lab " + ctx.lab.name + " has no SSH key yet (" +
                               instance::lab_key_file(ctx.lab_state()).string() + ")",
                           "`kvmrun up` makes it and puts it into the seeds; an instance started "
                           "before gets it with `kvmrun down " +
                               instance->name + " && kvmrun up " + instance->name + "`"));
  const auto alias = instance::host_key_alias(ctx.lab.name, instance->name);
  if (auto s = verified_host_keys(*instance, paths, alias, args.has("--reset-host-key"), err); !s)
    return fail(err, s.error());

  ssh::SshTarget target;
  target.client = *client;
  target.user = user.value_or(ctx.lab.images.at(instance->image).default_user);
  target.address = forward->host_address;
  target.port = forward->host_port;
  target.identity = (*key)->file;
  target.known_hosts = paths.known_hosts();
  target.host_key_alias = alias;
  target.command = args.trailing;
  const auto argv = ssh::ssh_argv(target);
  if (args.has("--print")) {
    out << shell_line(argv) << '\n';
    return 0;
  }
  out.flush();
  err.flush();
  auto rc = run_attached(argv);
  if (!rc)
    return fail(err, rc.error());
  return *rc;
}

} // namespace kvmrun::cli
