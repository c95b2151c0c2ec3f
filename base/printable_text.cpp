#include "base/printable_text.hpp"

#include "base/utf8.hpp"

namespace kvmrun {

namespace {

// Past an escape sequence starting at `i` (ESC): a CSI one runs to its final byte (0x40-0x7E),
// any other is ESC and one byte.
std::size_t skip_escape(std::string_view s, std::size_t i) {
  if (i + 1 < s.size() && s[i + 1] == '[') {
    i += 2;
    while (i < s.size() &&
           (static_cast<unsigned char>(s[i]) < 0x40 || static_cast<unsigned char>(s[i]) > 0x7E))
      ++i;
    return i + 1;
  }
  return i + 2;
}

} // namespace

std::string printable_tail(std::string_view log, std::size_t lines) {
  std::string clean;
  for (std::size_t i = 0; i < log.size();) {
    const auto c = static_cast<unsigned char>(log[i]);
    if (c == 0x1B) {
      i = skip_escape(log, i);
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(log, i, cp);
    if (n == 0 || cp == 0xFFFE || cp == 0xFFFF) {
      clean += "\xEF\xBF\xBD";
      i += n == 0 ? 1 : n;
      continue;
    }
    if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F) {
      ++i; // \r and the other controls
      continue;
    }
    clean.append(log.substr(i, n));
    i += n;
  }
  while (!clean.empty() && clean.back() == '\n')
    clean.pop_back();
  std::size_t from = clean.size();
  for (std::size_t k = 0; k < lines && from > 0; ++k) {
    const auto nl = clean.rfind('\n', from - 1);
    from = nl == std::string::npos ? 0 : nl;
  }
  if (from > 0)
    ++from;
  return clean.empty() ? std::string() : clean.substr(from) + "\n";
}

} // namespace kvmrun
