// The guest's serial console as a stream: kvmrun connects to the instance's serial socket and
// waits for lines (kernel start, readiness marker) as they arrive, on the event loop.
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace kvmrun::readiness {

class SerialWatch {
public:
  explicit SerialWatch(EventLoop& loop) : m_loop(loop) {}
  ~SerialWatch();
  SerialWatch(const SerialWatch&) = delete;
  SerialWatch& operator=(const SerialWatch&) = delete;

  [[nodiscard]] Status connect(const std::filesystem::path& socket);
  // Runs the loop until `text` has been seen, the console closes or `deadline` passes.
  bool wait_for(std::string_view text, Deadline deadline);
  [[nodiscard]] bool seen(std::string_view text) const;
  [[nodiscard]] bool closed() const { return m_closed; }
  [[nodiscard]] bool silent() const { return m_text.empty(); }
  [[nodiscard]] std::string tail(std::size_t lines) const;

private:
  void on_readable();
  EventLoop& m_loop;
  UniqueFd m_fd;
  std::string m_text; // the last few MiB of output
  bool m_closed = false;
};

// The last `lines` lines of `text`, with terminal escape sequences and carriage returns removed.
[[nodiscard]] std::string last_lines(std::string_view text, std::size_t lines);

} // namespace kvmrun::readiness
