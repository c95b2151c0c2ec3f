#include "qmp/agent_commands.hpp"

#include "base/base64.hpp"

#include <boost/json/serialize.hpp>

namespace kvmrun::qmp {

namespace {

std::string text(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<boost::json::object> object_reply(AgentClient& agent, std::string_view command,
                                         boost::json::object args, Deadline deadline) {
  auto r = agent.execute_sync(command, std::move(args), deadline);
  if (!r)
    return std::move(r).error();
  if (!r->is_object())
    return Error(ErrorCode::protocol,
                 std::string(command) + " returned " + boost::json::serialize(*r).substr(0, 200));
  return r->as_object();
}

Result<std::string> decoded(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string())
    return std::string();
  auto bytes = base64_decode(v->as_string());
  if (!bytes)
    return Error(ErrorCode::protocol, "the guest agent sent invalid base64 in " + std::string(key));
  return *bytes;
}

} // namespace

Status guest_ping(AgentClient& agent, Deadline deadline) {
  auto r = agent.execute_sync("guest-ping", {}, deadline);
  if (!r)
    return std::move(r).error();
  return {};
}

Result<std::int64_t> guest_get_time(AgentClient& agent, Deadline deadline) {
  auto r = agent.execute_sync("guest-get-time", {}, deadline);
  if (!r)
    return std::move(r).error();
  if (!r->is_int64())
    return Error(ErrorCode::protocol, "guest-get-time did not return a number");
  return r->as_int64();
}

Status guest_set_time(AgentClient& agent, std::int64_t ns_since_epoch, Deadline deadline) {
  auto r = agent.execute_sync("guest-set-time", {{"time", ns_since_epoch}}, deadline);
  if (!r)
    return std::move(r).error();
  return {};
}

Result<GuestInfo> guest_info(AgentClient& agent, Deadline deadline) {
  auto o = object_reply(agent, "guest-info", {}, deadline);
  if (!o)
    return std::move(o).error();
  GuestInfo info{text(*o, "version"), {}};
  if (const auto* cmds = o->if_contains("supported_commands"); cmds && cmds->is_array())
    for (const auto& c : cmds->as_array())
      if (const auto* co = c.if_object()) {
        const auto* enabled = co->if_contains("enabled");
        if (enabled && enabled->is_bool() && enabled->as_bool())
          info.enabled_commands.push_back(text(*co, "name"));
      }
  return info;
}

Result<GuestOsInfo> guest_osinfo(AgentClient& agent, Deadline deadline) {
  auto o = object_reply(agent, "guest-get-osinfo", {}, deadline);
  if (!o)
    return std::move(o).error();
  return GuestOsInfo{text(*o, "id"),         text(*o, "name"),           text(*o, "pretty-name"),
                     text(*o, "version-id"), text(*o, "kernel-release"), text(*o, "machine")};
}

Result<std::vector<GuestInterface>> guest_network_interfaces(AgentClient& agent,
                                                             Deadline deadline) {
  auto r = agent.execute_sync("guest-network-get-interfaces", {}, deadline);
  if (!r)
    return std::move(r).error();
  if (!r->is_array())
    return Error(ErrorCode::protocol, "guest-network-get-interfaces did not return an array");
  std::vector<GuestInterface> out;
  for (const auto& i : r->as_array()) {
    const auto* o = i.if_object();
    if (o == nullptr)
      continue;
    GuestInterface iface{text(*o, "name"), text(*o, "hardware-address"), {}, {}, {}, {}, {}};
    if (const auto* st = o->if_contains("statistics"); st && st->is_object()) {
      const auto counter = [&](const char* key) -> std::optional<std::uint64_t> {
        const auto* v = st->as_object().if_contains(key);
        if (v && v->is_int64() && v->as_int64() >= 0)
          return static_cast<std::uint64_t>(v->as_int64());
        if (v && v->is_uint64())
          return v->as_uint64();
        return std::nullopt;
      };
      iface.rx_bytes = counter("rx-bytes");
      iface.tx_bytes = counter("tx-bytes");
      iface.rx_packets = counter("rx-packets");
      iface.tx_packets = counter("tx-packets");
    }
    if (const auto* addrs = o->if_contains("ip-addresses"); addrs && addrs->is_array())
      for (const auto& a : addrs->as_array())
        if (const auto* ao = a.if_object()) {
          const auto* prefix = ao->if_contains("prefix");
          iface.addresses.push_back(text(*ao, "ip-address") + "/" +
                                    (prefix && prefix->is_number()
                                         ? std::to_string(prefix->to_number<std::int64_t>())
                                         : std::string("?")));
        }
    out.push_back(std::move(iface));
  }
  return out;
}

Result<std::int64_t> guest_exec(AgentClient& agent, const std::string& path,
                                const std::vector<std::string>& args, Deadline deadline,
                                const std::optional<std::string>& input,
                                const std::vector<std::string>& env) {
  boost::json::array arg_list;
  for (const auto& a : args)
    arg_list.emplace_back(a);
  boost::json::object request{{"path", path}, {"arg", arg_list}, {"capture-output", true}};
  if (input)
    request["input-data"] = base64_encode(*input);
  if (!env.empty()) {
    boost::json::array vars;
    for (const auto& v : env)
      vars.emplace_back(v);
    request["env"] = std::move(vars);
  }
  auto o = object_reply(agent, "guest-exec", std::move(request), deadline);
  if (!o)
    return std::move(o).error().add_context("starting " + path + " in the guest");
  const auto* pid = o->if_contains("pid");
  if (pid == nullptr || !pid->is_number())
    return Error(ErrorCode::protocol, "guest-exec returned no pid");
  return pid->to_number<std::int64_t>();
}

Result<ExecStatus> guest_exec_status(AgentClient& agent, std::int64_t pid, Deadline deadline) {
  auto o = object_reply(agent, "guest-exec-status", {{"pid", pid}}, deadline);
  if (!o)
    return std::move(o).error();
  ExecStatus s;
  if (const auto* e = o->if_contains("exited"); e && e->is_bool())
    s.exited = e->as_bool();
  if (const auto* c = o->if_contains("exitcode"); c && c->is_number())
    s.exit_code = static_cast<int>(c->to_number<std::int64_t>());
  if (const auto* sig = o->if_contains("signal"); sig && sig->is_number())
    s.signal = static_cast<int>(sig->to_number<std::int64_t>());
  auto out = decoded(*o, "out-data");
  auto err = decoded(*o, "err-data");
  if (!out)
    return std::move(out).error();
  if (!err)
    return std::move(err).error();
  s.out = std::move(*out);
  s.err = std::move(*err);
  for (const char* key : {"out-truncated", "err-truncated"})
    if (const auto* t = o->if_contains(key); t && t->is_bool() && t->as_bool())
      s.truncated = true;
  return s;
}

Result<ExecStatus> guest_run(AgentClient& agent, const std::string& path,
                             const std::vector<std::string>& args, Deadline deadline,
                             const std::optional<std::string>& input,
                             const std::vector<std::string>& env) {
  auto pid = guest_exec(agent, path, args, deadline, input, env);
  if (!pid)
    return std::move(pid).error();
  auto interval = std::chrono::milliseconds(5);
  while (true) {
    auto status = guest_exec_status(agent, *pid, deadline);
    if (!status)
      return std::move(status).error();
    if (status->exited)
      return status;
    const auto wake = std::min(deadline, Clock::now() + interval);
    if (wake >= deadline)
      return Error(ErrorCode::timeout, path + " was still running in the guest at its deadline");
    bool woke = false;
    agent.loop().add_timer(wake, [&] { woke = true; });
    agent.loop().run_until([&] { return woke; }, Deadline::max());
    interval = std::min(interval * 2, std::chrono::milliseconds(200));
  }
}

Result<std::int64_t> guest_file_open(AgentClient& agent, const std::string& path,
                                     const std::string& mode, Deadline deadline) {
  auto handle = agent.execute_sync("guest-file-open", {{"path", path}, {"mode", mode}}, deadline);
  if (!handle)
    return std::move(handle).error().add_context("opening " + path + " in the guest");
  if (!handle->is_number())
    return Error(ErrorCode::protocol, "guest-file-open returned no handle");
  return handle->to_number<std::int64_t>();
}

Result<FileChunk> guest_file_read(AgentClient& agent, std::int64_t handle, std::size_t count,
                                  Deadline deadline) {
  auto chunk =
      object_reply(agent, "guest-file-read",
                   {{"handle", handle}, {"count", static_cast<std::int64_t>(count)}}, deadline);
  if (!chunk)
    return std::move(chunk).error();
  auto bytes = decoded(*chunk, "buf-b64");
  if (!bytes)
    return std::move(bytes).error();
  const auto* eof = chunk->if_contains("eof");
  return FileChunk{std::move(*bytes), eof && eof->is_bool() && eof->as_bool()};
}

Status guest_file_write(AgentClient& agent, std::int64_t handle, std::string_view bytes,
                        Deadline deadline) {
  auto reply =
      object_reply(agent, "guest-file-write",
                   {{"handle", handle}, {"buf-b64", base64_encode(std::string(bytes))}}, deadline);
  if (!reply)
    return std::move(reply).error();
  const auto* count = reply->if_contains("count");
  if (count == nullptr || !count->is_number() ||
      count->to_number<std::int64_t>() != static_cast<std::int64_t>(bytes.size()))
    return Error(ErrorCode::guest,
                 "the guest agent wrote " +
                     (count && count->is_number() ? std::to_string(count->to_number<std::int64_t>())
                                                  : std::string("an unknown number of")) +
                     " of " + std::to_string(bytes.size()) + " bytes");
  return {};
}

Status guest_file_close(AgentClient& agent, std::int64_t handle, Deadline deadline) {
  auto r = agent.execute_sync("guest-file-close", {{"handle", handle}}, deadline);
  if (!r)
    return std::move(r).error();
  return {};
}

Status guest_write_file(AgentClient& agent, const std::string& path, std::string_view bytes,
                        Deadline deadline) {
  auto handle = guest_file_open(agent, path, "w", deadline);
  if (!handle)
    return std::move(handle).error();
  auto wrote = guest_file_write(agent, *handle, bytes, deadline);
  auto closed = guest_file_close(agent, *handle, deadline);
  if (!wrote)
    return std::move(wrote).error().add_context("writing " + path + " in the guest");
  if (!closed)
    return std::move(closed).error().add_context("closing " + path + " in the guest");
  return {};
}

Result<std::string> guest_read_file(AgentClient& agent, const std::string& path, Deadline deadline,
                                    std::size_t max_bytes) {
  auto h = guest_file_open(agent, path, "r", deadline);
  if (!h)
    return std::move(h).error();
  std::string content;
  Status failure;
  while (true) {
    auto chunk = guest_file_read(agent, *h, 1U << 20U, deadline);
    if (!chunk) {
      failure = std::move(chunk).error();
      break;
    }
    content += chunk->bytes;
    if (content.size() > max_bytes) {
      failure = Error(ErrorCode::guest, path + " in the guest is larger than " +
                                            std::to_string(max_bytes) + " bytes");
      break;
    }
    if (chunk->eof)
      break;
  }
  (void)guest_file_close(agent, *h, deadline);
  if (!failure)
    return std::move(failure).error();
  return content;
}

Status guest_shutdown(AgentClient& agent, const std::string& mode, Deadline deadline) {
  auto r = agent.execute_sync("guest-shutdown", {{"mode", mode}}, deadline, false);
  if (!r)
    return std::move(r).error();
  return {};
}

} // namespace kvmrun::qmp
