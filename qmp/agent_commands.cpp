#include "qmp/agent_commands.hpp"

#include "base/base64.hpp"

#include <boost/json/serialize.hpp>

#include <climits>
#include <cstdint>
#include <optional>

namespace kvmrun::qmp {

namespace {

std::string text(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// An integer the agent sent (never a fraction, never beyond int64).
std::optional<std::int64_t> integer(const boost::json::value* v) {
  if (v == nullptr)
    return std::nullopt;
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

std::optional<int> small_integer(const boost::json::value* v) {
  const auto n = integer(v);
  if (!n || *n < INT_MIN || *n > INT_MAX)
    return std::nullopt;
  return static_cast<int>(*n);
}

Result<const boost::json::object*> object_of(const boost::json::value& v,
                                             std::string_view command) {
  if (!v.is_object())
    return Error(ErrorCode::protocol,
                 std::string(command) + " returned " + boost::json::serialize(v).substr(0, 200));
  return &v.as_object();
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

namespace reply {

Result<std::int64_t> time(const boost::json::value& v) {
  const auto ns = integer(&v);
  if (!ns)
    return Error(ErrorCode::protocol, "guest-get-time did not return an integer");
  return *ns;
}

Result<GuestInfo> info(const boost::json::value& v) {
  auto o = object_of(v, "guest-info");
  if (!o)
    return std::move(o).error();
  GuestInfo info{text(**o, "version"), {}};
  if (const auto* cmds = (*o)->if_contains("supported_commands"); cmds && cmds->is_array())
    for (const auto& c : cmds->as_array())
      if (const auto* co = c.if_object()) {
        const auto* enabled = co->if_contains("enabled");
        if (enabled && enabled->is_bool() && enabled->as_bool())
          info.enabled_commands.push_back(text(*co, "name"));
      }
  return info;
}

Result<GuestOsInfo> osinfo(const boost::json::value& v) {
  auto o = object_of(v, "guest-get-osinfo");
  if (!o)
    return std::move(o).error();
  const auto& b = **o;
  return GuestOsInfo{text(b, "id"),         text(b, "name"),           text(b, "pretty-name"),
                     text(b, "version-id"), text(b, "kernel-release"), text(b, "machine")};
}

Result<std::vector<GuestInterface>> interfaces(const boost::json::value& v) {
  if (!v.is_array())
    return Error(ErrorCode::protocol, "guest-network-get-interfaces did not return an array");
  std::vector<GuestInterface> out;
  for (const auto& i : v.as_array()) {
    const auto* o = i.if_object();
    if (o == nullptr)
      continue;
    GuestInterface iface{text(*o, "name"), text(*o, "hardware-address"), {}, {}, {}, {}, {}};
    if (const auto* st = o->if_contains("statistics"); st && st->is_object()) {
      const auto counter = [&](const char* key) -> std::optional<std::uint64_t> {
        const auto* c = st->as_object().if_contains(key);
        if (c && c->is_uint64())
          return c->as_uint64();
        if (const auto n = integer(c); n && *n >= 0)
          return static_cast<std::uint64_t>(*n);
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
          const auto prefix = integer(ao->if_contains("prefix"));
          iface.addresses.push_back(text(*ao, "ip-address") + "/" +
                                    (prefix ? std::to_string(*prefix) : std::string("?")));
        }
    out.push_back(std::move(iface));
  }
  return out;
}

Result<std::int64_t> exec_pid(const boost::json::value& v) {
  auto o = object_of(v, "guest-exec");
  if (!o)
    return std::move(o).error();
  const auto pid = integer((*o)->if_contains("pid"));
  if (!pid)
    return Error(ErrorCode::protocol, "guest-exec returned no pid");
  return *pid;
}

Result<ExecStatus> exec_status(const boost::json::value& v) {
  auto reply = object_of(v, "guest-exec-status");
  if (!reply)
    return std::move(reply).error();
  const auto& o = **reply;
  ExecStatus s;
  if (const auto* e = o.if_contains("exited"); e && e->is_bool())
    s.exited = e->as_bool();
  if (const auto c = small_integer(o.if_contains("exitcode")))
    s.exit_code = *c;
  if (const auto sig = small_integer(o.if_contains("signal")))
    s.signal = *sig;
  auto out = decoded(o, "out-data");
  auto err = decoded(o, "err-data");
  if (!out)
    return std::move(out).error();
  if (!err)
    return std::move(err).error();
  s.out = std::move(*out);
  s.err = std::move(*err);
  for (const char* key : {"out-truncated", "err-truncated"})
    if (const auto* t = o.if_contains(key); t && t->is_bool() && t->as_bool())
      s.truncated = true;
  return s;
}

Result<std::int64_t> file_handle(const boost::json::value& v) {
  const auto handle = integer(&v);
  if (!handle)
    return Error(ErrorCode::protocol, "guest-file-open returned no handle");
  return *handle;
}

Result<FileChunk> file_chunk(const boost::json::value& v) {
  auto chunk = object_of(v, "guest-file-read");
  if (!chunk)
    return std::move(chunk).error();
  auto bytes = decoded(**chunk, "buf-b64");
  if (!bytes)
    return std::move(bytes).error();
  const auto* eof = (*chunk)->if_contains("eof");
  return FileChunk{std::move(*bytes), eof && eof->is_bool() && eof->as_bool()};
}

std::optional<std::int64_t> file_written(const boost::json::value& v) {
  const auto* o = v.if_object();
  return o != nullptr ? integer(o->if_contains("count")) : std::nullopt;
}

} // namespace reply

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
  return reply::time(*r);
}

Status guest_set_time(AgentClient& agent, std::int64_t ns_since_epoch, Deadline deadline) {
  auto r = agent.execute_sync("guest-set-time", {{"time", ns_since_epoch}}, deadline);
  if (!r)
    return std::move(r).error();
  return {};
}

Result<GuestInfo> guest_info(AgentClient& agent, Deadline deadline) {
  auto r = agent.execute_sync("guest-info", {}, deadline);
  if (!r)
    return std::move(r).error();
  return reply::info(*r);
}

Result<GuestOsInfo> guest_osinfo(AgentClient& agent, Deadline deadline) {
  auto r = agent.execute_sync("guest-get-osinfo", {}, deadline);
  if (!r)
    return std::move(r).error();
  return reply::osinfo(*r);
}

Result<std::vector<GuestInterface>> guest_network_interfaces(AgentClient& agent,
                                                             Deadline deadline) {
  auto r = agent.execute_sync("guest-network-get-interfaces", {}, deadline);
  if (!r)
    return std::move(r).error();
  return reply::interfaces(*r);
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
  auto r = agent.execute_sync("guest-exec", std::move(request), deadline);
  if (!r)
    return std::move(r).error().add_context("starting " + path + " in the guest");
  return reply::exec_pid(*r);
}

Result<ExecStatus> guest_exec_status(AgentClient& agent, std::int64_t pid, Deadline deadline) {
  auto r = agent.execute_sync("guest-exec-status", {{"pid", pid}}, deadline);
  if (!r)
    return std::move(r).error();
  return reply::exec_status(*r);
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
  return reply::file_handle(*handle);
}

Result<FileChunk> guest_file_read(AgentClient& agent, std::int64_t handle, std::size_t count,
                                  Deadline deadline) {
  auto r = agent.execute_sync("guest-file-read",
                              {{"handle", handle}, {"count", static_cast<std::int64_t>(count)}},
                              deadline);
  if (!r)
    return std::move(r).error();
  return reply::file_chunk(*r);
}

Status guest_file_write(AgentClient& agent, std::int64_t handle, std::string_view bytes,
                        Deadline deadline) {
  auto r = agent.execute_sync("guest-file-write",
                              {{"handle", handle}, {"buf-b64", base64_encode(std::string(bytes))}},
                              deadline);
  if (!r)
    return std::move(r).error();
  const auto count = reply::file_written(*r);
  if (count != static_cast<std::int64_t>(bytes.size()))
    return Error(ErrorCode::guest,
                 "the guest agent wrote " +
                     (count ? std::to_string(*count) : std::string("an unknown number of")) +
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
