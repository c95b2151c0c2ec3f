#include "readiness/serial_watch.hpp"

#include "base/unix_socket.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

namespace kvmrun::readiness {

namespace {
constexpr std::size_t max_kept = 4U << 20U;
}

SerialWatch::~SerialWatch() {
  if (m_fd.valid())
    m_loop.unwatch(m_fd.get());
}

Status SerialWatch::connect(const std::filesystem::path& socket) {
  auto fd = connect_unix(socket);
  if (!fd)
    return std::move(fd).error().add_context("connecting to the serial console");
  m_fd = std::move(fd).value();
  m_loop.watch(m_fd.get(), true, false, [this](unsigned) { on_readable(); });
  return {};
}

void SerialWatch::on_readable() {
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(m_fd.get(), buf, sizeof buf);
    if (n > 0) {
      m_text.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    m_closed = true; // EOF or error: QEMU closed the console
    m_loop.unwatch(m_fd.get());
    m_fd.reset();
    break;
  }
  if (m_text.size() > max_kept)
    m_text.erase(0, m_text.size() - max_kept / 2);
}

bool SerialWatch::seen(std::string_view text) const {
  return m_text.find(text) != std::string::npos;
}

bool SerialWatch::wait_for(std::string_view text, Deadline deadline) {
  return m_loop.run_until([&] { return seen(text) || m_closed; }, deadline) && seen(text);
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
