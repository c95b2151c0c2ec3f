// `kvmrun exec INSTANCE [--timeout SECONDS] -- COMMAND [ARGS...]`: a command in the guest
// through the guest agent; its exit code (or 128 + its signal) is kvmrun's.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "instance/qemu_process.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"

#include <charconv>

namespace kvmrun::cli {

using namespace std::chrono_literals;

int run_exec(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  const std::string usage = "kvmrun exec INSTANCE [--timeout DURATION] -- COMMAND [ARGS...]";
  auto found = one_instance(args, env, 0, usage);
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  if (args.trailing.empty())
    return fail(err, Error(ErrorCode::usage, "exec needs a command after --", "usage: " + usage));
  std::chrono::milliseconds timeout = 300s;
  if (const auto t = args.value("--timeout")) {
    unsigned secs = 0;
    const auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), secs);
    if (ec != std::errc() || p != t->data() + t->size() || secs == 0)
      return fail(err, Error(ErrorCode::usage, "--timeout takes whole seconds, got '" + *t + "'"));
    timeout = std::chrono::seconds(secs);
  }
  const auto paths = ctx.paths(*instance);
  if (!instance::running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  EventLoop loop;
  qmp::AgentClient agent(loop);
  if (auto c = agent.connect(paths.agent_socket()); !c)
    return fail(err, c.error());
  const std::vector<std::string> rest(args.trailing.begin() + 1, args.trailing.end());
  auto r = qmp::guest_run(agent, args.trailing.front(), rest, deadline_after(timeout));
  if (!r)
    return fail(err, r.error());
  out << r->out;
  err << r->err;
  if (r->truncated)
    err << "kvmrun: the guest agent truncated the output\n";
  if (r->signal != 0)
    return 128 + r->signal;
  return r->exit_code;
}

} // namespace kvmrun::cli
