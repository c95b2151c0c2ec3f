// The guest's serial console as it is written: kvmrun follows the console log QEMU keeps
// (inotify on the file, read from where this boot's output starts) and waits for lines (kernel
// start, readiness marker) on the event loop. It never takes the console socket, so QEMU never
// waits for kvmrun: QEMU sends the console a byte at a time, and a reader on the socket had to
// keep up with every byte or stall the guest's UART.
#pragma once

#include "base/event_loop.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace kvmrun::readiness {

class SerialWatch {
public:
  explicit SerialWatch(EventLoop& loop) : m_loop(loop) {}
  ~SerialWatch();
  SerialWatch(const SerialWatch&) = delete;
  SerialWatch& operator=(const SerialWatch&) = delete;

  // Follows `log` from byte `from` on (what earlier boots appended comes before it).
  [[nodiscard]] Status follow(const std::filesystem::path& log, std::uint64_t from);
  // Runs the loop until `text` has been seen, `stop()` says to give up or `deadline` passes.
  bool wait_for(std::string_view text, Deadline deadline, const std::function<bool()>& stop);
  [[nodiscard]] bool seen(std::string_view text) const;
  [[nodiscard]] bool silent() const { return m_text.empty(); }
  [[nodiscard]] std::string tail(std::size_t lines) const;

private:
  void on_notified();
  void read_new();
  EventLoop& m_loop;
  std::filesystem::path m_path;
  UniqueFd m_file;
  UniqueFd m_inotify;
  std::uint64_t m_offset = 0;
  EventLoop::TimerId m_timer = 0;
  std::string m_text; // the last few MiB of output
};

// The last `lines` lines of `text`, with terminal escape sequences and carriage returns removed.
[[nodiscard]] std::string last_lines(std::string_view text, std::size_t lines);

} // namespace kvmrun::readiness
