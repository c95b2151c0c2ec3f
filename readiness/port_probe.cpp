#include "readiness/port_probe.hpp"

#include "base/unique_fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kvmrun::readiness {

using namespace std::chrono_literals;

bool port_serves(EventLoop& loop, const std::string& address, std::uint16_t port,
                 std::chrono::milliseconds settle, Deadline deadline) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    return false;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return false;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
      errno != EINPROGRESS)
    return false;
  enum class State { connecting, open, served, refused } state = State::connecting;
  Deadline settle_until{};
  EventLoop::TimerId settle_timer = 0;
  loop.watch(fd.get(), true, true, [&](unsigned events) {
    if (state == State::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        state = State::refused;
        return;
      }
      state = State::open;
      settle_until = Clock::now() + settle;
      settle_timer = loop.add_timer(settle_until, [] {}); // wakes the loop to decide
      loop.update(fd.get(), true, false);
      if ((events & EventLoop::readable) == 0U)
        return;
    }
    char c = 0;
    const ssize_t n = ::recv(fd.get(), &c, 1, MSG_PEEK);
    state = n > 0 ? State::served : (n < 0 && errno == EAGAIN ? state : State::refused);
  });
  loop.run_until(
      [&] {
        return state == State::served || state == State::refused ||
               (state == State::open && Clock::now() >= settle_until);
      },
      std::min(deadline, Clock::now() + settle + 5s));
  loop.unwatch(fd.get());
  if (settle_timer != 0)
    loop.cancel_timer(settle_timer);
  return state == State::served || state == State::open;
}

} // namespace kvmrun::readiness
