// How long things take, and how a duration is shown: one clock pair and one format for
// stages, tasks, gates, stop steps and reports.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kvmrun::evidence {

// When something started (wall clock, for the record) and how long it has taken (monotonic).
struct Stopwatch {
  std::chrono::system_clock::time_point wall = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  [[nodiscard]] std::chrono::milliseconds elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
};

// "12.3 s": how every duration is shown to users.
[[nodiscard]] std::string seconds_text(std::chrono::milliseconds d);

// "2026-12-01T08:43:24.123Z": how evidence records a moment.
[[nodiscard]] std::string iso_time(std::chrono::system_clock::time_point t);
// iso_time's text read back (to the millisecond); nullopt for anything else.
[[nodiscard]] std::optional<std::chrono::system_clock::time_point>
parse_iso_time(std::string_view text);

} // namespace kvmrun::evidence
