// A QMP client (QEMU Machine Protocol, docs/interop/qmp-spec): reads the greeting, negotiates
// capabilities, executes commands with unique ids and per-command deadlines, matches replies by
// id, and keeps asynchronous events apart in a bounded queue. Many clients share one EventLoop.
// It never confuses an event with a reply, never blocks on a peer, and fails every pending
// command promptly ("connection lost") when the socket closes.
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "qmp/json_channel.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace kvmrun::qmp {

struct QmpEvent {
  std::string name;
  boost::json::object data;
  double timestamp = 0; // seconds since 1970, from QEMU
};

struct QmpOptions {
  ChannelLimits limits;
  std::size_t max_queued_events = 1024; // the oldest are dropped beyond this
};

class QmpClient {
public:
  using ReplyHandler = std::function<void(Result<boost::json::value>)>;
  using EventHandler = std::function<void(Result<QmpEvent>)>;
  using ReadyHandler = std::function<void(Status)>;

  explicit QmpClient(EventLoop& loop, QmpOptions options = {});
  ~QmpClient();
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;

  // Connects, waits for the greeting and negotiates capabilities, all before `deadline`.
  void connect(const std::filesystem::path& socket, Deadline deadline, ReadyHandler done);
  void adopt(UniqueFd fd, Deadline deadline, ReadyHandler done);

  // Runs `command`; the handler gets its "return" value, or an error: ErrorCode::qemu for a QMP
  // error reply ("<class>: <desc>") or a lost connection, ErrorCode::timeout at the deadline.
  void execute(std::string_view command, boost::json::object arguments, Deadline deadline,
               ReplyHandler done);
  // The next event called `name` (a queued one first), or ErrorCode::timeout.
  void wait_event(std::string name, Deadline deadline, EventHandler done);

  // From now on, events nobody waits for go to `handler` instead of the queue (which is
  // handed over first).
  void stream_events(std::function<void(const QmpEvent&)> handler);
  // Queued events nobody waited for, oldest first; clears the queue.
  [[nodiscard]] std::vector<QmpEvent> take_events();
  [[nodiscard]] bool ready() const { return m_state == State::ready; }
  [[nodiscard]] const boost::json::object& greeting() const { return m_greeting; }
  [[nodiscard]] std::size_t dropped_events() const { return m_dropped_events; }
  [[nodiscard]] std::size_t unmatched_replies() const { return m_unmatched_replies; }
  void close();

  // Blocking forms for one-shot use: they run the loop until done or the deadline.
  [[nodiscard]] Status connect_sync(const std::filesystem::path& socket, Deadline deadline);
  [[nodiscard]] Result<boost::json::value>
  execute_sync(std::string_view command, boost::json::object arguments, Deadline deadline);
  [[nodiscard]] Result<QmpEvent> wait_event_sync(const std::string& name, Deadline deadline);

private:
  enum class State { idle, greeting, negotiating, ready, closed };
  struct Pending {
    std::string command;
    ReplyHandler done;
    EventLoop::TimerId timer;
  };
  struct Waiter {
    std::string name;
    EventHandler done;
    EventLoop::TimerId timer;
    std::uint64_t key;
  };
  void begin(Deadline deadline, ReadyHandler done);
  void on_message(boost::json::object message);
  void on_closed(const Error& reason);
  void fail_ready(Error error);

  EventLoop& m_loop;
  QmpOptions m_options;
  JsonChannel m_channel;
  State m_state = State::idle;
  boost::json::object m_greeting;
  ReadyHandler m_ready;
  EventLoop::TimerId m_ready_timer = 0;
  std::uint64_t m_next_id = 1;
  std::map<std::string, Pending> m_pending;
  std::deque<QmpEvent> m_events;
  std::vector<Waiter> m_waiters;
  std::function<void(const QmpEvent&)> m_event_stream;
  std::size_t m_dropped_events = 0;
  std::size_t m_unmatched_replies = 0;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

} // namespace kvmrun::qmp
