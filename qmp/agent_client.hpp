// A QEMU guest-agent client (qemu-ga, over the virtio-serial channel's unix socket). The agent
// has its own rules: no greeting and no command ids, so commands run one at a time; the
// channel accepts connections before the agent runs and may hold stale bytes, so the client
// first sends 0xFF and guest-sync-delimited with a fresh id and discards everything up to the
// agent's 0xFF and the matching reply. After a timeout the channel's state is unknown and the
// next command resynchronises first.
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "qmp/json_channel.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <deque>
#include <filesystem>
#include <functional>
#include <string>

namespace kvmrun::qmp {

class AgentClient {
public:
  using ReplyHandler = std::function<void(Result<boost::json::value>)>;

  explicit AgentClient(EventLoop& loop, ChannelLimits limits = {});
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  [[nodiscard]] Status connect(const std::filesystem::path& socket);
  void adopt(UniqueFd fd);

  // Runs `command` after any queued ones (resynchronising first when needed). Commands that
  // send no reply on success (guest-shutdown) pass expect_reply = false and complete once sent.
  void execute(std::string_view command, boost::json::object arguments, Deadline deadline,
               ReplyHandler done, bool expect_reply = true);
  [[nodiscard]] Result<boost::json::value> execute_sync(std::string_view command,
                                                        boost::json::object arguments,
                                                        Deadline deadline,
                                                        bool expect_reply = true);
  [[nodiscard]] bool synced() const { return m_synced; }
  // The connection is gone (EOF or error): every command now fails at once.
  [[nodiscard]] bool closed() const { return m_closed; }
  [[nodiscard]] EventLoop& loop() { return m_loop; }
  void close();

private:
  struct Request {
    std::string command;
    boost::json::object arguments;
    Deadline deadline;
    ReplyHandler done;
    bool expect_reply;
  };
  void pump();
  void start_sync(Deadline deadline);
  void finish_current(Result<boost::json::value> result);
  void on_message(boost::json::object message);
  void on_closed(const Error& reason);

  EventLoop& m_loop;
  JsonChannel m_channel;
  std::deque<Request> m_queue;
  bool m_busy = false; // a command (or a sync) is in flight
  bool m_syncing = false;
  bool m_synced = false;
  bool m_closed = false;
  std::int64_t m_sync_id = 0;
  EventLoop::TimerId m_timer = 0;
  std::optional<Error> m_close_reason;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

} // namespace kvmrun::qmp
