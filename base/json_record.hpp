// Checked reading of the JSON files kvmrun writes and later reads back (provenance records, run
// summaries, cache records). What comes back from disk is input like any other: a file that is
// empty, truncated, hand-edited or of the wrong shape gives an ErrorCode::io error naming the
// file and the field, never an exception or an abort.
#pragma once

#include "base/result.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun {

// One JSON object and where it came from ("FILE", or "FILE: slowest[2]" for a nested one).
// Copyable; owns its object.
class JsonRecord {
public:
  // Reads `file` (at most `max_bytes`) and parses it as one JSON object.
  [[nodiscard]] static Result<JsonRecord> load(const std::filesystem::path& file,
                                               std::size_t max_bytes = 16U << 20U);
  // Parses `text` as one JSON object; `source` names it in errors.
  [[nodiscard]] static Result<JsonRecord> parse(std::string_view text, std::string source);

  [[nodiscard]] bool has(std::string_view key) const { return m_object.contains(key); }
  // Each accessor fails when the field is missing or has another type.
  [[nodiscard]] Result<std::string> string(std::string_view key) const;
  [[nodiscard]] Result<std::int64_t> integer(std::string_view key) const;
  [[nodiscard]] Result<std::vector<std::string>> strings(std::string_view key) const;
  [[nodiscard]] Result<JsonRecord> object(std::string_view key) const;
  [[nodiscard]] Result<std::vector<JsonRecord>> objects(std::string_view key) const;

  [[nodiscard]] const boost::json::object& fields() const { return m_object; }
  [[nodiscard]] const std::string& source() const { return m_source; }
  // The error for a field whose value is there but wrong: ErrorCode::io, "<source>: field
  // \"<key>\" <problem>", with the remedy for a damaged kvmrun file.
  [[nodiscard]] Error bad(std::string_view key, std::string_view problem) const;

private:
  JsonRecord(boost::json::object object, std::string source)
      : m_object(std::move(object)), m_source(std::move(source)) {}

  boost::json::object m_object;
  std::string m_source;
};

} // namespace kvmrun
