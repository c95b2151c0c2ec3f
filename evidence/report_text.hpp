// What `kvmrun report` shares between a run's report and a bench directory's: column padding
// and the label of a recorded event ("gate boot (web)"), read back field by field.
#pragma once

#include "base/json_record.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace kvmrun::evidence {

// `text` padded with spaces to `width`, and at least one space after it.
inline std::string padded(std::string_view text, std::size_t width) {
  std::string s(text);
  return s + std::string(std::max<std::size_t>(1, width > s.size() ? width - s.size() : 1), ' ');
}

// "KIND NAME" and " (INSTANCE)" when it has one; ErrorCode::io naming a missing field.
inline Result<std::string> event_label(const JsonRecord& event) {
  auto kind = event.string("kind");
  auto name = event.string("name");
  auto instance = event.string("instance");
  if (auto e = first_error(kind, name, instance))
    return *e;
  std::string what = *kind + " " + *name;
  if (!instance->empty())
    what += " (" + *instance + ")";
  return what;
}

} // namespace kvmrun::evidence
