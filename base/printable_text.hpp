// A console log's last lines as text a terminal, XML or HTML can carry: terminal escape
// sequences and control characters other than tab and newline removed, bytes that are not
// UTF-8 (base/utf8.hpp) and the non-characters U+FFFE and U+FFFF replaced by U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kvmrun {

// The last `lines` lines of `log`, each ended by a newline ("" for an empty log).
[[nodiscard]] std::string printable_tail(std::string_view log, std::size_t lines);

} // namespace kvmrun
