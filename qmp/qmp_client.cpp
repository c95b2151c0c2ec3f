#include "qmp/qmp_client.hpp"

#include <boost/json/serialize.hpp>

namespace kvmrun::qmp {

namespace {

std::string describe_qmp_error(const boost::json::value& error) {
  std::string cls = "GenericError";
  std::string desc = "(no description)";
  if (const auto* obj = error.if_object()) {
    if (const auto* c = obj->if_contains("class"); c && c->is_string())
      cls = std::string(c->as_string());
    if (const auto* d = obj->if_contains("desc"); d && d->is_string())
      desc = std::string(d->as_string());
  }
  return cls + ": " + desc;
}

std::string id_text(const boost::json::value& id) {
  return id.is_string() ? std::string(id.as_string()) : boost::json::serialize(id);
}

} // namespace

QmpClient::QmpClient(EventLoop& loop, QmpOptions options)
    : m_loop(loop), m_options(options), m_channel(loop, options.limits) {}

QmpClient::~QmpClient() {
  *m_alive = false;
  if (m_ready_timer != 0)
    m_loop.cancel_timer(m_ready_timer);
  for (auto& [id, p] : m_pending)
    m_loop.cancel_timer(p.timer);
  for (auto& w : m_waiters)
    m_loop.cancel_timer(w.timer);
}

void QmpClient::connect(const std::filesystem::path& socket, Deadline deadline, ReadyHandler done) {
  if (auto connected = m_channel.connect(socket); !connected) {
    m_state = State::closed;
    auto error = std::move(connected).error();
    m_loop.post([done = std::move(done), error] { done(error); });
    return;
  }
  begin(deadline, std::move(done));
}

void QmpClient::adopt(UniqueFd fd, Deadline deadline, ReadyHandler done) {
  m_channel.adopt(std::move(fd));
  begin(deadline, std::move(done));
}

void QmpClient::begin(Deadline deadline, ReadyHandler done) {
  m_state = State::greeting;
  m_ready = std::move(done);
  m_ready_timer = m_loop.add_timer(deadline, [this] {
    m_ready_timer = 0;
    fail_ready(Error(ErrorCode::timeout,
                     m_state == State::greeting
                         ? "QEMU sent no QMP greeting before the deadline"
                         : "QEMU did not accept qmp_capabilities before the deadline"));
  });
  m_channel.start([this](boost::json::object m) { on_message(std::move(m)); },
                  [this](const Error& e) { on_closed(e); });
}

void QmpClient::fail_ready(Error error) {
  if (!m_ready)
    return;
  auto done = std::move(m_ready);
  m_ready = nullptr;
  if (m_ready_timer != 0) {
    m_loop.cancel_timer(m_ready_timer);
    m_ready_timer = 0;
  }
  m_channel.close(error);
  m_state = State::closed;
  done(std::move(error));
}

void QmpClient::execute(std::string_view command, boost::json::object arguments, Deadline deadline,
                        ReplyHandler done) {
  if (m_state != State::ready && m_state != State::negotiating) {
    Error error(ErrorCode::qemu, "connection lost: QMP is not connected (while running " +
                                     std::string(command) + ")");
    m_loop.post([done = std::move(done), error] { done(error); });
    return;
  }
  const std::string id = "kvmrun-" + std::to_string(m_next_id++);
  boost::json::object request{{"execute", command}, {"id", id}};
  if (!arguments.empty())
    request["arguments"] = std::move(arguments);
  if (auto sent = m_channel.send(boost::json::serialize(request) + "\r\n"); !sent) {
    auto error = std::move(sent).error();
    m_loop.post([done = std::move(done), error] { done(error); });
    return;
  }
  const auto timer = m_loop.add_timer(deadline, [this, id] {
    auto node = m_pending.extract(id);
    if (node.empty())
      return;
    node.mapped().done(Error(ErrorCode::timeout, "QMP command " + node.mapped().command +
                                                     " got no reply before its deadline"));
  });
  m_pending.emplace(id, Pending{std::string(command), std::move(done), timer});
}

void QmpClient::wait_event(std::string name, Deadline deadline, EventHandler done) {
  for (auto it = m_events.begin(); it != m_events.end(); ++it)
    if (it->name == name) {
      QmpEvent event = std::move(*it);
      m_events.erase(it);
      m_loop.post([done = std::move(done), event = std::move(event)] { done(event); });
      return;
    }
  if (m_state == State::closed) {
    m_loop.post([done = std::move(done), name] {
      done(Error(ErrorCode::qemu, "connection lost before event " + name));
    });
    return;
  }
  const std::uint64_t key = m_next_id++;
  const auto timer = m_loop.add_timer(deadline, [this, key] {
    for (auto it = m_waiters.begin(); it != m_waiters.end(); ++it)
      if (it->key == key) {
        auto handler = std::move(it->done);
        const std::string event = it->name;
        m_waiters.erase(it);
        handler(Error(ErrorCode::timeout, "no " + event + " event before the deadline"));
        return;
      }
  });
  m_waiters.push_back(Waiter{std::move(name), std::move(done), timer, key});
}

void QmpClient::stream_events(std::function<void(const QmpEvent&)> handler) {
  for (auto& e : take_events())
    handler(e);
  m_event_stream = std::move(handler);
}

std::vector<QmpEvent> QmpClient::take_events() {
  std::vector<QmpEvent> out(std::make_move_iterator(m_events.begin()),
                            std::make_move_iterator(m_events.end()));
  m_events.clear();
  return out;
}

void QmpClient::on_message(boost::json::object message) {
  if (m_state == State::greeting) {
    const auto* qmp = message.if_contains("QMP");
    if (qmp == nullptr || !qmp->is_object()) {
      fail_ready(Error(ErrorCode::protocol, "the first message is not a QMP greeting: " +
                                                boost::json::serialize(message).substr(0, 200)));
      return;
    }
    m_greeting = qmp->as_object();
    m_state = State::negotiating;
    execute("qmp_capabilities", {}, Clock::time_point::max(),
            [this, alive = m_alive](Result<boost::json::value> r) {
              if (!*alive)
                return;
              if (!r) {
                fail_ready(std::move(r).error().add_context("negotiating QMP capabilities"));
                return;
              }
              m_state = State::ready;
              if (m_ready_timer != 0) {
                m_loop.cancel_timer(m_ready_timer);
                m_ready_timer = 0;
              }
              if (m_ready) {
                auto done = std::move(m_ready);
                m_ready = nullptr;
                done(Status{});
              }
            });
    return;
  }
  if (const auto* event = message.if_contains("event")) {
    QmpEvent e;
    e.name = event->is_string() ? std::string(event->as_string()) : "";
    if (const auto* data = message.if_contains("data"); data && data->is_object())
      e.data = data->as_object();
    if (const auto* ts = message.if_contains("timestamp"); ts && ts->is_object()) {
      const auto& t = ts->as_object();
      const auto* s = t.if_contains("seconds");
      const auto* us = t.if_contains("microseconds");
      if (s && us && s->is_number() && us->is_number())
        e.timestamp = s->to_number<double>() + us->to_number<double>() / 1e6;
    }
    for (auto it = m_waiters.begin(); it != m_waiters.end(); ++it)
      if (it->name == e.name) {
        auto done = std::move(it->done);
        m_loop.cancel_timer(it->timer);
        m_waiters.erase(it);
        done(std::move(e));
        return;
      }
    if (m_event_stream) {
      m_event_stream(e);
      return;
    }
    m_events.push_back(std::move(e));
    while (m_events.size() > m_options.max_queued_events) {
      m_events.pop_front();
      ++m_dropped_events;
    }
    return;
  }
  const auto* id = message.if_contains("id");
  const bool is_reply = message.contains("return") || message.contains("error");
  if (!is_reply || id == nullptr) {
    ++m_unmatched_replies; // a reply without id, or something that is neither: not ours
    return;
  }
  auto node = m_pending.extract(id_text(*id));
  if (node.empty()) {
    ++m_unmatched_replies; // late (after its deadline) or never asked
    return;
  }
  m_loop.cancel_timer(node.mapped().timer);
  if (const auto* error = message.if_contains("error"))
    node.mapped().done(Error(ErrorCode::qemu, "QMP command " + node.mapped().command +
                                                  " failed: " + describe_qmp_error(*error)));
  else
    node.mapped().done(message.at("return"));
}

void QmpClient::on_closed(const Error& reason) {
  const State was = m_state;
  m_state = State::closed;
  if (was == State::greeting || was == State::negotiating) {
    Error error = reason;
    fail_ready(error.add_context(was == State::greeting ? "waiting for the QMP greeting"
                                                        : "negotiating QMP capabilities"));
  }
  auto pending = std::move(m_pending);
  m_pending.clear();
  for (auto& [id, p] : pending) {
    m_loop.cancel_timer(p.timer);
    Error error = reason;
    p.done(error.add_context("running QMP command " + p.command));
  }
  auto waiters = std::move(m_waiters);
  m_waiters.clear();
  for (auto& w : waiters) {
    m_loop.cancel_timer(w.timer);
    Error error = reason;
    w.done(error.add_context("waiting for event " + w.name));
  }
}

void QmpClient::close() {
  m_channel.close(Error(ErrorCode::qemu, "connection lost: closed by kvmrun"));
  m_state = State::closed;
}

Status QmpClient::connect_sync(const std::filesystem::path& socket, Deadline deadline) {
  std::optional<Status> result;
  connect(socket, deadline, [&](Status s) { result = std::move(s); });
  m_loop.run_until([&] { return result.has_value(); }, Deadline::max());
  return std::move(*result);
}

Result<boost::json::value> QmpClient::execute_sync(std::string_view command,
                                                   boost::json::object arguments,
                                                   Deadline deadline) {
  std::optional<Result<boost::json::value>> result;
  execute(command, std::move(arguments), deadline,
          [&](Result<boost::json::value> r) { result = std::move(r); });
  m_loop.run_until([&] { return result.has_value(); }, Deadline::max());
  return std::move(*result);
}

Result<QmpEvent> QmpClient::wait_event_sync(const std::string& name, Deadline deadline) {
  std::optional<Result<QmpEvent>> result;
  wait_event(name, deadline, [&](Result<QmpEvent> r) { result = std::move(r); });
  m_loop.run_until([&] { return result.has_value(); }, Deadline::max());
  return std::move(*result);
}

} // namespace kvmrun::qmp
