// A YAML emitter for cloud-init documents. Input is a JSON-model tree (Boost.JSON, which keeps
// object keys in insertion order); output is block-style YAML that a YAML 1.1 parser (PyYAML,
// which cloud-init uses) reads back into exactly the same tree. Strings are never pasted:
// every scalar is either a conservative plain word, a literal block, or a double-quoted string
// with escapes, so no value can change the document's structure.
#pragma once

#include "base/result.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace kvmrun::seeds {

// Fails (ErrorCode::config) on a string that is not valid UTF-8: YAML cannot carry raw bytes.
[[nodiscard]] Result<std::string> to_yaml(const boost::json::value& document);
// The same, appended to `out` (which may be partly written on failure).
[[nodiscard]] Status append_yaml(const boost::json::value& document, std::string& out);

// Whether `text` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text);

} // namespace kvmrun::seeds
