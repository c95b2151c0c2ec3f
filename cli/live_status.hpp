// While `up` waits on its gates, on a terminal: a status line per instance under the gate results
// as they come, redrawn in place four times a second: the gate it waits on, the time spent
// against that gate's timeout, and the last line its guest printed on the serial console.
// Disabled (the gate results as plain lines, as without a terminal) when standard output is not
// a terminal, and with --json. Thread-safe: the instances' gate threads report to it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace kvmrun::cli {

class LiveStatus {
public:
  // `width`: the terminal's columns (lines are cut to fit, so none wraps).
  LiveStatus(std::ostream& out, bool enabled, std::size_t width);
  ~LiveStatus(); // erases the board
  LiveStatus(const LiveStatus&) = delete;
  LiveStatus& operator=(const LiveStatus&) = delete;

  void add(const std::string& instance, std::filesystem::path serial_log);
  void waiting(const std::string& instance, const std::string& gate,
               std::chrono::milliseconds timeout);
  void finished(const std::string& instance);
  // A line printed above the board (a gate's result).
  void print(const std::string& line);

private:
  struct Row {
    std::string instance;
    std::filesystem::path serial_log;
    std::string gate; // empty until its first gate starts
    std::chrono::steady_clock::time_point since;
    std::chrono::milliseconds timeout{0};
    bool done = false;
  };
  void erase(); // callers hold m_mutex
  void draw();  // callers hold m_mutex
  void ticker();
  std::ostream& m_out;
  bool m_enabled;
  std::size_t m_width;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stop = false;
  std::vector<Row> m_rows;
  std::size_t m_drawn = 0; // lines of the board on the screen now
  std::thread m_thread;
};

// One board line, cut to `width` columns: "  web          agent        12 s of 300 s  | login:".
[[nodiscard]] std::string status_line(const std::string& instance, const std::string& gate,
                                      std::chrono::milliseconds elapsed,
                                      std::chrono::milliseconds timeout, const std::string& console,
                                      std::size_t width);

// The last line a console log ends with, printable (base/printable_text.hpp), from at most its
// last 4 KiB; "" when it cannot be read.
[[nodiscard]] std::string last_console_line(const std::filesystem::path& log);

} // namespace kvmrun::cli
