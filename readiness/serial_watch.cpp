#include "readiness/serial_watch.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace kvmrun::readiness {

namespace {
constexpr std::size_t max_kept = 4U << 20U;
// QEMU writes the log a byte at a time, as the guest's UART sends it; a change is read this
// long after it is first notified, so a burst costs a few wakeups, not one per byte, and a line
// is still seen well within 10 ms of being written.
constexpr auto gather = std::chrono::milliseconds(4);
} // namespace

SerialWatch::~SerialWatch() {
  if (m_timer != 0)
    m_loop.cancel_timer(m_timer);
  if (m_inotify.valid())
    m_loop.unwatch(m_inotify.get());
}

Status SerialWatch::follow(const std::filesystem::path& log, std::uint64_t from) {
  m_path = log;
  m_offset = from;
  m_inotify = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!m_inotify.valid())
    return system_error(ErrorCode::io, "watching the serial console log (inotify)", errno);
  // Watched before it is opened: nothing written in between is missed.
  if (::inotify_add_watch(m_inotify.get(), log.c_str(), IN_MODIFY) < 0)
    return system_error(ErrorCode::io, "watching the serial console log " + log.string(), errno);
  m_file = UniqueFd(::open(log.c_str(), O_RDONLY | O_CLOEXEC));
  if (!m_file.valid())
    return system_error(ErrorCode::io, "opening the serial console log " + log.string(), errno);
  m_loop.watch(m_inotify.get(), true, false, [this](unsigned) { on_notified(); });
  read_new();
  return {};
}

void SerialWatch::on_notified() {
  m_loop.update(m_inotify.get(), false, false);
  m_timer = m_loop.add_timer(Clock::now() + gather, [this] {
    m_timer = 0;
    alignas(inotify_event) char events[4096];
    while (::read(m_inotify.get(), events, sizeof events) > 0) {
    }
    read_new();
    m_loop.update(m_inotify.get(), true, false);
  });
}

void SerialWatch::read_new() {
  char buf[65536];
  while (true) {
    const ssize_t n = ::pread(m_file.get(), buf, sizeof buf, static_cast<off_t>(m_offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    m_text.append(buf, static_cast<std::size_t>(n));
    m_offset += static_cast<std::uint64_t>(n);
  }
  if (m_text.size() > max_kept)
    m_text.erase(0, m_text.size() - max_kept / 2);
}

bool SerialWatch::seen(std::string_view text) const {
  return m_text.find(text) != std::string::npos;
}

bool SerialWatch::wait_for(std::string_view text, Deadline deadline,
                           const std::function<bool()>& stop) {
  m_loop.run_until([&] { return seen(text) || stop(); }, deadline);
  return seen(text);
}

std::string SerialWatch::tail(std::size_t lines) const { return last_lines(m_text, lines); }

std::string last_lines(std::string_view text, std::size_t lines) {
  std::string clean;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\x1b') { // CSI: ESC [ parameters final-byte
      if (i + 1 < text.size() && text[i + 1] == '[') {
        i += 2;
        while (i < text.size() && (text[i] < 0x40 || text[i] > 0x7e))
          ++i;
      }
      continue;
    }
    if (c == '\r')
      continue;
    clean += c;
  }
  std::vector<std::string_view> all;
  std::string_view rest = clean;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    all.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out.append(all[i]).append("\n");
  return out;
}

} // namespace kvmrun::readiness
