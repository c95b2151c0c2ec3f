#include "base/event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdlib>

namespace kvmrun {

namespace {

std::uint32_t epoll_mask(bool want_read, bool want_write) {
  return (want_read ? EPOLLIN : 0U) | (want_write ? EPOLLOUT : 0U) | EPOLLRDHUP;
}

} // namespace

EventLoop::EventLoop() : m_epoll(::epoll_create1(EPOLL_CLOEXEC)) {
  if (m_epoll < 0)
    std::abort(); // only fails without memory or file descriptors at start-up
}

EventLoop::~EventLoop() { ::close(m_epoll); }

void EventLoop::watch(int fd, bool want_read, bool want_write, FdCallback callback) {
  auto w = std::make_shared<Watch>(Watch{std::move(callback), want_read, want_write});
  epoll_event ev{};
  ev.events = epoll_mask(want_read, want_write);
  ev.data.fd = fd;
  const bool existed = m_watches.contains(fd);
  const int r = ::epoll_ctl(m_epoll, existed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  assert(r == 0 && "epoll_ctl on a watched fd");
  (void)r;
  m_watches[fd] = std::move(w);
}

void EventLoop::update(int fd, bool want_read, bool want_write) {
  const auto it = m_watches.find(fd);
  if (it == m_watches.end())
    return;
  if (it->second->want_read == want_read && it->second->want_write == want_write)
    return;
  it->second->want_read = want_read;
  it->second->want_write = want_write;
  epoll_event ev{};
  ev.events = epoll_mask(want_read, want_write);
  ev.data.fd = fd;
  ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::unwatch(int fd) {
  if (m_watches.erase(fd) > 0)
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::add_timer(Deadline when, std::function<void()> callback) {
  const TimerId id = m_next_timer++;
  m_timers.emplace(id, std::make_pair(when, std::move(callback)));
  m_timer_order.emplace(when, id);
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  const auto it = m_timers.find(id);
  if (it == m_timers.end())
    return;
  auto [first, last] = m_timer_order.equal_range(it->second.first);
  for (auto o = first; o != last; ++o)
    if (o->second == id) {
      m_timer_order.erase(o);
      break;
    }
  m_timers.erase(it);
}

void EventLoop::post(std::function<void()> callback) { m_posted.push_back(std::move(callback)); }

void EventLoop::dispatch_timers() {
  const auto now = Clock::now();
  while (!m_timer_order.empty() && m_timer_order.begin()->first <= now) {
    const TimerId id = m_timer_order.begin()->second;
    m_timer_order.erase(m_timer_order.begin());
    auto node = m_timers.extract(id);
    if (!node.empty())
      node.mapped().second();
  }
}

void EventLoop::dispatch_posted() {
  while (!m_posted.empty()) {
    auto batch = std::move(m_posted);
    m_posted.clear();
    for (auto& callback : batch)
      callback();
  }
}

bool EventLoop::run_until(const std::function<bool()>& done, Deadline deadline) {
  dispatch_posted();
  while (!done()) {
    const auto now = Clock::now();
    if (now >= deadline)
      return done();
    Deadline wake = deadline;
    if (!m_timer_order.empty() && m_timer_order.begin()->first < wake)
      wake = m_timer_order.begin()->first;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - now);
    epoll_event events[64];
    const int n = ::epoll_wait(m_epoll, events, 64,
                               static_cast<int>(std::min<std::int64_t>(wait.count(), 1 << 30)));
    if (n < 0 && errno != EINTR)
      std::abort(); // EBADF/EINVAL: a programming error
    for (int i = 0; i < n; ++i) {
      const auto it = m_watches.find(events[i].data.fd);
      if (it == m_watches.end())
        continue;                    // unwatched by an earlier callback in this batch
      const auto watch = it->second; // keeps the callback alive while it runs
      unsigned flags = 0;
      if ((events[i].events & EPOLLIN) != 0U)
        flags |= readable;
      if ((events[i].events & EPOLLOUT) != 0U)
        flags |= writable;
      if ((events[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0U)
        flags |= hangup | readable;
      watch->callback(flags);
      dispatch_posted();
    }
    dispatch_timers();
    dispatch_posted();
  }
  return true;
}

} // namespace kvmrun
