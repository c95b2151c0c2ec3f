#include "qmp/agent_client.hpp"

#include <boost/json/serialize.hpp>

#include <random>

namespace kvmrun::qmp {

namespace {

ChannelLimits with_sentinels(ChannelLimits limits) {
  limits.framer.agent_sentinels = true;
  return limits;
}

} // namespace

AgentClient::AgentClient(EventLoop& loop, ChannelLimits limits)
    : m_loop(loop), m_channel(loop, with_sentinels(limits)) {}

AgentClient::~AgentClient() {
  *m_alive = false;
  if (m_timer != 0)
    m_loop.cancel_timer(m_timer);
}

Status AgentClient::connect(const std::filesystem::path& socket) {
  if (auto connected = m_channel.connect(socket); !connected)
    return connected;
  m_channel.start([this](boost::json::object m) { on_message(std::move(m)); },
                  [this](const Error& e) { on_closed(e); });
  return {};
}

void AgentClient::adopt(UniqueFd fd) {
  m_channel.adopt(std::move(fd));
  m_channel.start([this](boost::json::object m) { on_message(std::move(m)); },
                  [this](const Error& e) { on_closed(e); });
}

void AgentClient::execute(std::string_view command, boost::json::object arguments,
                          Deadline deadline, ReplyHandler done, bool expect_reply) {
  if (m_closed) {
    const Error error = m_close_reason.value_or(Error(ErrorCode::qemu, "connection lost"));
    m_loop.post([done = std::move(done), error] { done(error); });
    return;
  }
  m_queue.push_back(
      Request{std::string(command), std::move(arguments), deadline, std::move(done), expect_reply});
  pump();
}

void AgentClient::pump() {
  if (m_busy || m_queue.empty() || m_closed)
    return;
  Request& head = m_queue.front();
  if (!m_synced) {
    start_sync(head.deadline);
    return;
  }
  boost::json::object request{{"execute", head.command}};
  if (!head.arguments.empty())
    request["arguments"] = head.arguments;
  m_busy = true;
  if (auto sent = m_channel.send(boost::json::serialize(request) + "\n"); !sent) {
    finish_current(std::move(sent).error());
    return;
  }
  if (!head.expect_reply) {
    finish_current(boost::json::value(nullptr));
    return;
  }
  m_timer = m_loop.add_timer(head.deadline, [this] {
    m_timer = 0;
    m_synced = false; // a reply may still come: resynchronise before the next command
    const std::string command = m_queue.front().command;
    finish_current(Error(ErrorCode::timeout,
                         "the guest agent did not answer " + command + " before its deadline"));
  });
}

void AgentClient::start_sync(Deadline deadline) {
  static std::mt19937_64 rng(std::random_device{}());
  m_sync_id = static_cast<std::int64_t>(rng() >> 12U); // fits a JSON integer exactly
  m_busy = true;
  m_syncing = true;
  m_channel.skip_until_sentinel();
  const boost::json::object request{{"execute", "guest-sync-delimited"},
                                    {"arguments", boost::json::object{{"id", m_sync_id}}}};
  std::string line = "\xFF"; // resets the agent's parser (docs: guest-sync-delimited)
  line += boost::json::serialize(request);
  line += '\n';
  if (auto sent = m_channel.send(line); !sent) {
    m_syncing = false;
    finish_current(std::move(sent).error().add_context("synchronising with the guest agent"));
    return;
  }
  m_timer = m_loop.add_timer(deadline, [this] {
    m_timer = 0;
    m_syncing = false;
    finish_current(Error(ErrorCode::timeout,
                         "the guest agent did not answer guest-sync-delimited (is it running "
                         "in the guest?)"));
  });
}

void AgentClient::finish_current(Result<boost::json::value> result) {
  if (m_timer != 0) {
    m_loop.cancel_timer(m_timer);
    m_timer = 0;
  }
  m_busy = false;
  if (m_queue.empty())
    return;
  Request request = std::move(m_queue.front());
  m_queue.pop_front();
  const auto alive = m_alive;
  request.done(std::move(result));
  if (*alive)
    pump();
}

void AgentClient::on_message(boost::json::object message) {
  if (!m_busy)
    return; // unsolicited (a late reply after a timeout): the next sync discards such
  if (m_syncing) {
    const auto* ret = message.if_contains("return");
    // Only an integer that equals ours (the guest may send anything: to_number would throw).
    if (ret && ret->is_int64() && ret->as_int64() == m_sync_id) {
      m_syncing = false;
      m_synced = true;
      m_busy = false;
      if (m_timer != 0) {
        m_loop.cancel_timer(m_timer);
        m_timer = 0;
      }
      pump();
    }
    return; // a stale reply from before the sync
  }
  if (const auto* error = message.if_contains("error")) {
    std::string desc = boost::json::serialize(*error);
    if (const auto* e = error->if_object())
      if (const auto* d = e->if_contains("desc"); d && d->is_string())
        desc = std::string(d->as_string());
    finish_current(Error(ErrorCode::guest,
                         "guest agent command " + m_queue.front().command + " failed: " + desc));
    return;
  }
  const auto* ret = message.if_contains("return");
  if (ret == nullptr) {
    finish_current(Error(ErrorCode::protocol,
                         "the guest agent sent " + boost::json::serialize(message).substr(0, 200)));
    return;
  }
  finish_current(*ret);
}

void AgentClient::on_closed(const Error& reason) {
  m_closed = true;
  m_close_reason = reason;
  m_busy = false;
  m_syncing = false;
  if (m_timer != 0) {
    m_loop.cancel_timer(m_timer);
    m_timer = 0;
  }
  auto queue = std::move(m_queue);
  m_queue.clear();
  for (auto& r : queue) {
    Error error = reason;
    r.done(error.add_context("running guest agent command " + r.command));
  }
}

void AgentClient::close() {
  m_channel.close(Error(ErrorCode::qemu, "connection lost: closed by kvmrun"));
}

Result<boost::json::value> AgentClient::execute_sync(std::string_view command,
                                                     boost::json::object arguments,
                                                     Deadline deadline, bool expect_reply) {
  std::optional<Result<boost::json::value>> result;
  execute(
      command, std::move(arguments), deadline,
      [&](Result<boost::json::value> r) { result = std::move(r); }, expect_reply);
  m_loop.run_until([&] { return result.has_value(); }, Deadline::max());
  return std::move(*result);
}

} // namespace kvmrun::qmp
