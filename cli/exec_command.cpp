// `kvmrun exec INSTANCE [--timeout SECONDS] [--env K=V]... -- COMMAND [ARGS...]`: a command in
// the guest through the guest agent; its exit code (or 128 + its signal) is kvmrun's. Standard
// input is passed to the command when it is not a terminal (as ssh does; give it </dev/null
// otherwise), up to exec_input_limit; the agent captures up to 16 MiB of each output stream,
// and output cut there is an error, never a silent truncation.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "instance/qemu_process.hpp"
#include "qmp/agent_client.hpp"
#include "qmp/agent_commands.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <istream>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;

// What one guest-exec request can carry: its input goes base64-encoded in one JSON message,
// which kvmrun's channel buffers up to 16 MiB.
constexpr std::size_t exec_input_limit = 8U << 20U;
// What qemu-ga captures of each of stdout and stderr (GUEST_EXEC_MAX_OUTPUT).
constexpr std::size_t agent_output_limit = 16U << 20U;

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

Result<std::optional<std::string>> standard_input(const CliEnvironment& env) {
  if (env.in == nullptr || env.stdin_is_terminal)
    return std::optional<std::string>();
  std::string data;
  char buffer[65536];
  while (env.in->read(buffer, sizeof buffer) || env.in->gcount() > 0) {
    data.append(buffer, static_cast<std::size_t>(env.in->gcount()));
    if (data.size() > exec_input_limit)
      return Error(ErrorCode::usage,
                   "standard input is larger than 8 MiB, which is what one guest-agent request "
                   "carries",
                   "pass it in parts (e.g. split -b 8M and `kvmrun exec vm -- sh -c 'cat >> "
                   "FILE'` for each), or through an extra disk of the lab");
  }
  return std::optional<std::string>(std::move(data));
}

} // namespace

int run_exec(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  const std::string usage =
      "kvmrun exec INSTANCE [--timeout SECONDS] [--env K=V]... -- COMMAND [ARGS...]";
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
  const auto vars = args.values("--env");
  for (const auto& v : vars)
    if (const auto eq = v.find('='); eq == std::string::npos || !valid_env_name(v.substr(0, eq)))
      return fail(err, Error(ErrorCode::usage, "--env takes NAME=VALUE, got '" + v + "'",
                             "a name is letters, digits and _, not starting with a digit"));
  const auto paths = ctx.paths(*instance);
  if (!instance::running_pid(paths, ctx.lab.name, instance->name))
    return fail(err, not_running(*instance));
  auto input = standard_input(env);
  if (!input)
    return fail(err, input.error());
  EventLoop loop;
  // A status reply carries both streams base64-encoded: up to 2 x 16 MiB x 4/3.
  qmp::ChannelLimits limits;
  limits.framer.max_message = 48U << 20U;
  qmp::AgentClient agent(loop, limits);
  if (auto c = agent.connect(paths.agent_socket()); !c)
    return fail(err, c.error());
  const std::vector<std::string> rest(args.trailing.begin() + 1, args.trailing.end());
  auto r =
      qmp::guest_run(agent, args.trailing.front(), rest, deadline_after(timeout), *input, vars);
  if (!r)
    return fail(err, r.error());
  out << r->out;
  err << r->err;
  if (r->truncated)
    return fail(err, Error(ErrorCode::guest,
                           "the command's output passed the guest agent's limit of " +
                               std::to_string(agent_output_limit >> 20U) +
                               " MiB per stream and was cut there (its exit code was " +
                               std::to_string(r->exit_code) + ")",
                           "write large output to a file in the guest and read it in parts"));
  if (r->signal != 0)
    return 128 + r->signal;
  return r->exit_code;
}

} // namespace kvmrun::cli
