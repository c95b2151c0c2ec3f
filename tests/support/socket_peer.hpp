// The far end of a socketpair, driven by a test as a scripted peer (a fake QMP server or guest
// agent): write exact bytes, read the lines the client sent, stop reading, hang up.
#pragma once

#include "base/unique_fd.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kvmrun::testing {

class SocketPeer {
public:
  // Creates the pair; take_client_end() hands the other end to the code under test.
  SocketPeer();
  [[nodiscard]] UniqueFd take_client_end() { return std::move(m_client); }

  // Writes all of `bytes`. When the socket is full, calls `pump` (which should let the client
  // read, e.g. run its event loop briefly) instead of blocking the test thread.
  void write(std::string_view bytes, const std::function<void()>& pump = {});
  // The next line the client sent (without its line end), or nullopt after `timeout`.
  [[nodiscard]] std::optional<std::string>
  read_line(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Everything the client sent so far, without waiting.
  [[nodiscard]] std::string drain();
  void hang_up() { m_peer.reset(); }
  void shrink_buffers(); // so that a client's writes fill the socket quickly

private:
  UniqueFd m_peer;
  UniqueFd m_client;
  std::string m_buffer;
};

} // namespace kvmrun::testing
