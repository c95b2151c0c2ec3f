#include "seeds/yaml.hpp"

#include "base/utf8.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace kvmrun::seeds {

namespace {

// YAML 1.1 "printable" (5.1), minus the characters YAML treats as line breaks besides LF.
inline bool printable_in_block(std::uint32_t cp) {
  if (cp >= 0x20 && cp < 0x7F) // the common case: printable ASCII
    return true;
  if (cp == '\t' || cp == '\n')
    return true;
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) // C0, DEL, C1 (incl. NEL 0x85)
    return false;
  if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF)
    return false;
  return true;
}

struct TextScan {
  bool valid_utf8 = true;
  bool block_printable = true; // every character may stand in a literal block
};

// One pass over `s`; runs of plain printable ASCII are skipped eight bytes at a time.
TextScan scan_text(std::string_view s) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  TextScan result;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i + 8 <= s.size()) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, 8);
      const std::uint64_t below_space = (w - 0x20 * ones) & ~w & highs; // a byte < 0x20
      const std::uint64_t del = w ^ (0x7F * ones);
      const std::uint64_t has_del = (del - ones) & ~del & highs; // a byte == 0x7F
      if ((w & highs) != 0 || below_space != 0 || has_del != 0)
        break;
      i += 8;
    }
    if (i >= s.size())
      break;
    std::uint32_t cp = 0;
    const std::size_t len = decode_utf8(s, i, cp);
    if (len == 0)
      return TextScan{false, false};
    if (!printable_in_block(cp))
      result.block_printable = false;
    i += len;
  }
  return result;
}

// Words a YAML 1.1 resolver turns into booleans or null (PyYAML's implicit resolvers).
bool is_special_word(std::string_view s) {
  if (s.size() > 5)
    return false;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 11> words{
      "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<"};
  return std::find(words.begin(), words.end(), lower) != words.end();
}

// A plain scalar is used only where it cannot be read as anything but this string: it starts
// with a letter or '/' (no number, date, indicator) and holds only letters, digits and _ . / - .
bool plain_safe(std::string_view s) {
  if (s.empty() || is_special_word(s) ||
      !(std::isalpha(static_cast<unsigned char>(s.front())) || s.front() == '/'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
           c == '-';
  });
}

std::string double_quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    std::size_t len = decode_utf8(s, i, cp);
    assert(len > 0 && "to_yaml validates UTF-8 before quoting");
    if (len == 0) { // never reached: keeps a broken invariant from looping forever
      cp = 0xFFFD;
      len = 1;
    }
    char buf[16];
    switch (cp) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    case '\0': out += "\\0"; break;
    default:
      if (cp < 0x20 || cp == 0x7F) {
        std::snprintf(buf, sizeof buf, "\\x%02X", cp);
        out += buf;
      } else if (!printable_in_block(cp)) {
        std::snprintf(buf, sizeof buf, "\\u%04X", cp);
        out += buf;
      } else {
        out.append(s.substr(i, len));
      }
    }
    i += len;
  }
  return out + "\"";
}

// A literal block keeps scripts readable. Only for multi-line text of printable characters
// whose first line does not start with a space (that would need an indentation indicator).
bool literal_safe(std::string_view s) {
  if (s.find('\n') == std::string_view::npos || s.front() == ' ' || s.front() == '\n' ||
      s.front() == '\t')
    return false;
  if (!scan_text(s).block_printable)
    return false;
  // A last line of only blanks would sit where chomping decides about trailing lines.
  const auto body = s.substr(0, s.find_last_not_of('\n') + 1);
  const auto last_line = body.substr(body.rfind('\n') + 1);
  return last_line.find_first_not_of(" \t") != std::string_view::npos;
}

void append_literal_block(std::string_view s, std::size_t indent, std::string& out) {
  std::size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n')
    ++trailing;
  out += trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
  out += '\n';
  const std::string pad(indent, ' ');
  out.reserve(out.size() + s.size() + s.size() / 16 * indent + 16);
  std::string_view body = s.substr(0, s.size() - trailing);
  while (true) {
    const auto nl = body.find('\n');
    const auto line = body.substr(0, nl);
    if (!line.empty())
      out += pad;
    out.append(line);
    out += '\n';
    if (nl == std::string_view::npos)
      break;
    body.remove_prefix(nl + 1);
  }
  for (std::size_t k = 1; k < trailing; ++k)
    out += '\n';
}

bool is_nonempty_container(const boost::json::value& v) {
  return (v.is_object() && !v.get_object().empty()) || (v.is_array() && !v.get_array().empty());
}

// Appends a scalar (or an empty container) and its line end; `indent` is for literal block
// bodies.
void append_scalar(const boost::json::value& v, std::size_t indent, std::string& out) {
  switch (v.kind()) {
  case boost::json::kind::null: out += "null\n"; return;
  case boost::json::kind::bool_: out += v.get_bool() ? "true\n" : "false\n"; return;
  case boost::json::kind::int64:
  case boost::json::kind::uint64:
  case boost::json::kind::double_: out += boost::json::serialize(v) + "\n"; return;
  case boost::json::kind::object: out += "{}\n"; return;
  case boost::json::kind::array: out += "[]\n"; return;
  case boost::json::kind::string: {
    const std::string_view s = v.get_string();
    if (plain_safe(s)) {
      out += s;
      out += '\n';
    } else if (literal_safe(s)) {
      append_literal_block(s, indent, out);
    } else {
      out += double_quoted(s);
      out += '\n';
    }
    return;
  }
  }
}

std::string key_text(std::string_view key) {
  return plain_safe(key) ? std::string(key) : double_quoted(key);
}

// Emits `v` at `indent`. With `continues_line`, the first line goes on the current line (after
// "- "), which already holds its indentation.
void emit(const boost::json::value& v, std::size_t indent, std::string& out,
          bool continues_line = false) {
  const std::string pad(indent, ' ');
  bool first = true;
  const auto start_line = [&] {
    if (!(first && continues_line))
      out += pad;
    first = false;
  };
  if (v.is_object()) {
    for (const auto& [key, value] : v.get_object()) {
      start_line();
      out += key_text(key);
      out += ':';
      if (is_nonempty_container(value)) {
        out += '\n';
        emit(value, indent + 2, out);
      } else {
        out += ' ';
        append_scalar(value, indent + 2, out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      start_line();
      out += "- ";
      if (is_nonempty_container(item))
        emit(item, indent + 2, out, true);
      else
        append_scalar(item, indent + 2, out);
    }
  } else {
    start_line();
    append_scalar(v, indent + 2, out);
  }
}

bool all_strings_valid(const boost::json::value& v) {
  switch (v.kind()) {
  case boost::json::kind::string: return is_valid_utf8(v.get_string());
  case boost::json::kind::array:
    return std::all_of(v.get_array().begin(), v.get_array().end(), all_strings_valid);
  case boost::json::kind::object:
    return std::all_of(v.get_object().begin(), v.get_object().end(), [](const auto& kv) {
      return is_valid_utf8(kv.key()) && all_strings_valid(kv.value());
    });
  default: return true;
  }
}

} // namespace

bool is_valid_utf8(std::string_view text) { return scan_text(text).valid_utf8; }

Status append_yaml(const boost::json::value& document, std::string& out) {
  if (!all_strings_valid(document))
    return Error(ErrorCode::config, "a cloud-init value is not valid UTF-8",
                 "use UTF-8 text, or base64 for binary file contents");
  emit(document, 0, out);
  return {};
}

Result<std::string> to_yaml(const boost::json::value& document) {
  std::string out;
  if (auto status = append_yaml(document, out); !status)
    return std::move(status).error();
  return out;
}

} // namespace kvmrun::seeds
