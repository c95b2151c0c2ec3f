#include "cli/live_status.hpp"

#include "base/printable_text.hpp"
#include "base/unique_fd.hpp"
#include "base/utf8.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace kvmrun::cli {

using namespace std::chrono_literals;

namespace {

std::string whole_seconds(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

std::string padded_to(std::string s, std::size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s + " ";
}

// `text` cut to at most `columns` code points (each taken as one column).
std::string cut(const std::string& text, std::size_t columns) {
  std::size_t at = 0;
  for (std::size_t n = 0; at < text.size() && n < columns; ++n) {
    std::uint32_t cp = 0;
    const auto len = decode_utf8(text, at, cp);
    at += len == 0 ? 1 : len;
  }
  return text.substr(0, at);
}

} // namespace

std::string status_line(const std::string& instance, const std::string& gate,
                        std::chrono::milliseconds elapsed, std::chrono::milliseconds timeout,
                        const std::string& console, std::size_t width) {
  std::string line = "  " + padded_to(instance, 12) + padded_to(gate.empty() ? "..." : gate, 11) +
                     padded_to(whole_seconds(elapsed) + " of " + whole_seconds(timeout), 14);
  if (!console.empty())
    line += "| " + console;
  return cut(line, width > 1 ? width - 1 : 1);
}

std::string last_console_line(const std::filesystem::path& log) {
  const UniqueFd fd(::open(log.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0)
    return {};
  std::array<char, 4096> buffer{};
  const off_t from = std::max<off_t>(0, st.st_size - static_cast<off_t>(buffer.size()));
  const auto n = ::pread(fd.get(), buffer.data(), buffer.size(), from);
  if (n <= 0)
    return {};
  auto tail = printable_tail(std::string_view(buffer.data(), static_cast<std::size_t>(n)), 1);
  if (!tail.empty())
    tail.pop_back();
  return tail;
}

LiveStatus::LiveStatus(std::ostream& out, bool enabled, std::size_t width)
    : m_out(out), m_enabled(enabled), m_width(width) {
  if (m_enabled)
    m_thread = std::thread([this] { ticker(); });
}

LiveStatus::~LiveStatus() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable())
    m_thread.join();
  std::lock_guard lock(m_mutex);
  erase();
  m_out << std::flush;
}

void LiveStatus::add(const std::string& instance, std::filesystem::path serial_log) {
  std::lock_guard lock(m_mutex);
  m_rows.push_back({instance, std::move(serial_log), "", std::chrono::steady_clock::now(), 0ms});
}

void LiveStatus::waiting(const std::string& instance, const std::string& gate,
                         std::chrono::milliseconds timeout) {
  std::lock_guard lock(m_mutex);
  for (auto& r : m_rows)
    if (r.instance == instance) {
      r.gate = gate;
      r.since = std::chrono::steady_clock::now();
      r.timeout = timeout;
    }
}

void LiveStatus::finished(const std::string& instance) {
  std::lock_guard lock(m_mutex);
  for (auto& r : m_rows)
    if (r.instance == instance)
      r.done = true;
  if (m_enabled) {
    erase();
    draw();
    m_out << std::flush;
  }
}

void LiveStatus::print(const std::string& line) {
  std::lock_guard lock(m_mutex);
  erase();
  m_out << line << "\n";
  draw();
  m_out << std::flush;
}

void LiveStatus::erase() {
  if (m_drawn > 0)
    m_out << "\033[" << m_drawn << "A\033[J"; // up to the board's first line, clear below
  m_drawn = 0;
}

void LiveStatus::draw() {
  if (!m_enabled || m_stop)
    return;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& r : m_rows) {
    if (r.done)
      continue;
    m_out << status_line(r.instance, r.gate,
                         std::chrono::duration_cast<std::chrono::milliseconds>(now - r.since),
                         r.timeout, last_console_line(r.serial_log), m_width)
          << "\n";
    ++m_drawn;
  }
}

void LiveStatus::ticker() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    erase();
    draw();
    m_out << std::flush;
    m_wake.wait_for(lock, 250ms, [this] { return m_stop; });
  }
}

} // namespace kvmrun::cli
