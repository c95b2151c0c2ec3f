#include "evidence/stopwatch.hpp"

#include <cstdio>
#include <ctime>

namespace kvmrun::evidence {

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms.count() % 1000));
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_iso_time(std::string_view text) {
  // Exactly iso_time's form: digits where it writes digits, nothing else.
  constexpr std::string_view form = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != form.size())
    return std::nullopt;
  for (std::size_t i = 0; i < form.size(); ++i)
    if (form[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != form[i])
      return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t len) {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i)
      v = v * 10 + (text[i] - '0');
    return v;
  };
  const int y = number(0, 4);
  // Within what a system_clock time point holds (nanoseconds: 1678 to 2262), and after 1970.
  if (y < 1970 || y > 2200)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = number(5, 2) - 1;
  tm.tm_mday = number(8, 2);
  tm.tm_hour = number(11, 2);
  tm.tm_min = number(14, 2);
  tm.tm_sec = number(17, 2);
  const auto t = std::chrono::system_clock::from_time_t(::timegm(&tm)) +
                 std::chrono::milliseconds(number(20, 3));
  // A day or an hour out of range is normalised by timegm: only the canonical text is a time.
  if (iso_time(t) != text)
    return std::nullopt;
  return t;
}

} // namespace kvmrun::evidence
