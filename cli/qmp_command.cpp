// `kvmrun qmp INSTANCE|SOCKET COMMAND [JSON-ARGS] [--events]`: one QMP command, its reply as
// JSON, like `virsh qemu-monitor-command`; --events then streams events as JSON lines until
// QEMU closes the connection.
#include "cli/commands.hpp"
#include "instance/paths.hpp"

#include "cli/lab_source.hpp"
#include "qmp/qmp_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <sys/stat.h>

namespace kvmrun::cli {

namespace {

constexpr auto command_timeout = std::chrono::seconds(30);

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// A socket path as given, or the QMP socket of an instance of the lab.
Result<std::filesystem::path> qmp_socket(const std::string& target, const ParsedArgs& args,
                                         const CliEnvironment& env) {
  if (target.find('/') != std::string::npos || is_socket(target)) {
    if (!is_socket(target))
      return Error(ErrorCode::usage, target + " is not a unix socket");
    return std::filesystem::path(target);
  }
  auto lab = resolve_lab(args, env);
  if (!lab)
    return std::move(lab).error();
  if (auto found = lab->find_instance(target); !found)
    return std::move(found).error();
  const auto socket =
      instance::instance_paths(host::default_dirs(env.getenv, env.uid), lab->name, target)
          .qmp_socket();
  if (!is_socket(socket.string()))
    return Error(ErrorCode::qemu,
                 "instance " + target + " is not running (no QMP socket at " + socket.string() +
                     ")",
                 "start it with kvmrun up " + target);
  return socket;
}

} // namespace

int run_qmp(const ParsedArgs& args, std::ostream& out, std::ostream& err,
            const CliEnvironment& env) {
  const auto& pos = args.positional;
  if (pos.size() < 2 || pos.size() > 3)
    return fail(err, Error(ErrorCode::usage, "usage: kvmrun qmp INSTANCE|SOCKET COMMAND "
                                             "[JSON-ARGS] [--events]"));
  boost::json::object arguments;
  if (pos.size() == 3) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(pos[2], ec);
    if (ec || !parsed.is_object())
      return fail(err, Error(ErrorCode::usage,
                             "the arguments must be a JSON object, got '" + pos[2] + "'",
                             "for example '{\"command-line\": \"info version\"}'"));
    arguments = std::move(parsed.as_object());
  }
  auto socket = qmp_socket(pos[0], args, env);
  if (!socket)
    return fail(err, socket.error());
  EventLoop loop;
  qmp::QmpClient client(loop);
  if (auto connected = client.connect_sync(*socket, deadline_after(command_timeout)); !connected)
    return fail(err, std::move(connected).error().add_context("connecting to " + socket->string()));
  auto reply = client.execute_sync(pos[1], std::move(arguments), deadline_after(command_timeout));
  if (!reply)
    return fail(err, reply.error());
  out << boost::json::serialize(*reply) << '\n';
  if (!args.has("--events"))
    return 0;
  // Stream events until QEMU closes the connection.
  client.stream_events([&](const qmp::QmpEvent& e) {
    out << boost::json::serialize(
               boost::json::object{{"event", e.name}, {"data", e.data}, {"timestamp", e.timestamp}})
        << std::endl;
  });
  loop.run_until([&] { return !client.ready(); }, Deadline::max());
  return 0;
}

} // namespace kvmrun::cli
