// An event loop (epoll) over sockets and timers: QMP and guest-agent connections, the serial
// console, port probes, deadlines. One loop can drive many instances' sockets (the QMP
// benchmark drives eight QEMUs from one); `up` runs one loop per instance, each on that
// instance's gate thread. Single-threaded: callbacks run on the thread that calls run_until().
// Every wait has a deadline; nothing sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace kvmrun {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

[[nodiscard]] inline Deadline deadline_after(std::chrono::milliseconds d) {
  return Clock::now() + d;
}

class EventLoop {
public:
  enum : unsigned { readable = 1U, writable = 2U, hangup = 4U };
  using FdCallback = std::function<void(unsigned events)>;
  using TimerId = std::uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `callback` when `fd` is readable and/or writable (as asked) or hung up. The fd stays
  // owned by the caller, who must unwatch() it before closing it.
  void watch(int fd, bool want_read, bool want_write, FdCallback callback);
  void update(int fd, bool want_read, bool want_write);
  void unwatch(int fd);

  TimerId add_timer(Deadline when, std::function<void()> callback);
  void cancel_timer(TimerId id);

  // Runs `callback` on the next turn of the loop.
  void post(std::function<void()> callback);

  // Dispatches events until `done()` is true (checked after every callback) or `deadline`
  // passes. Returns done().
  bool run_until(const std::function<bool()>& done, Deadline deadline);

private:
  struct Watch {
    FdCallback callback;
    bool want_read = false;
    bool want_write = false;
  };
  void dispatch_timers();
  void dispatch_posted();

  int m_epoll = -1;
  std::map<int, std::shared_ptr<Watch>> m_watches;
  std::multimap<Deadline, TimerId> m_timer_order;
  std::map<TimerId, std::pair<Deadline, std::function<void()>>> m_timers;
  TimerId m_next_timer = 1;
  std::vector<std::function<void()>> m_posted;
};

} // namespace kvmrun
