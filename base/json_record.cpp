#include "base/json_record.hpp"

#include "base/file_io.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace kvmrun {

namespace json = boost::json;

namespace {

constexpr std::string_view damaged_remedy =
    "kvmrun wrote this file and reads it back; it was damaged or edited by hand: restore it, or "
    "remove it and run the command that writes it again";

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null: return "null";
  case json::kind::bool_: return "a boolean";
  case json::kind::int64:
  case json::kind::uint64:
  case json::kind::double_: return "a number";
  case json::kind::string: return "a string";
  case json::kind::array: return "an array";
  case json::kind::object: return "an object";
  }
  return "something else";
}

} // namespace

Result<JsonRecord> JsonRecord::load(const std::filesystem::path& file, std::size_t max_bytes) {
  auto text = read_file(file, max_bytes);
  if (!text)
    return std::move(text).error();
  return parse(*text, file.string());
}

Result<JsonRecord> JsonRecord::parse(std::string_view text, std::string source) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec)
    return Error(ErrorCode::io,
                 source + " is not valid JSON (" + ec.message() +
                     (text.empty() ? ", the file is empty" : "") + ")",
                 std::string(damaged_remedy));
  if (!doc.is_object())
    return Error(ErrorCode::io, source + " holds " + kind_of(doc) + ", not a JSON object",
                 std::string(damaged_remedy));
  return JsonRecord(std::move(doc.as_object()), std::move(source));
}

Error JsonRecord::bad(std::string_view key, std::string_view problem) const {
  return Error(ErrorCode::io,
               m_source + ": field \"" + std::string(key) + "\" " + std::string(problem),
               std::string(damaged_remedy));
}

Result<std::string> JsonRecord::string(std::string_view key) const {
  const auto* v = m_object.if_contains(key);
  if (v == nullptr)
    return bad(key, "is missing");
  if (!v->is_string())
    return bad(key, "is " + kind_of(*v) + ", not a string");
  return std::string(v->as_string());
}

Result<std::int64_t> JsonRecord::integer(std::string_view key) const {
  const auto* v = m_object.if_contains(key);
  if (v == nullptr)
    return bad(key, "is missing");
  if (v->is_int64())
    return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  return bad(key, "is " + (v->is_number() ? std::string("not a whole number") : kind_of(*v)) +
                      ", not an integer");
}

Result<std::vector<std::string>> JsonRecord::strings(std::string_view key) const {
  const auto* v = m_object.if_contains(key);
  if (v == nullptr)
    return bad(key, "is missing");
  if (!v->is_array())
    return bad(key, "is " + kind_of(*v) + ", not an array of strings");
  std::vector<std::string> out;
  for (const auto& item : v->as_array()) {
    if (!item.is_string())
      return bad(key, "holds " + kind_of(item) + " where a string belongs");
    out.emplace_back(item.as_string());
  }
  return out;
}

Result<JsonRecord> JsonRecord::object(std::string_view key) const {
  const auto* v = m_object.if_contains(key);
  if (v == nullptr)
    return bad(key, "is missing");
  if (!v->is_object())
    return bad(key, "is " + kind_of(*v) + ", not an object");
  return JsonRecord(v->as_object(), m_source + ": " + std::string(key));
}

Result<std::vector<JsonRecord>> JsonRecord::objects(std::string_view key) const {
  const auto* v = m_object.if_contains(key);
  if (v == nullptr)
    return bad(key, "is missing");
  if (!v->is_array())
    return bad(key, "is " + kind_of(*v) + ", not an array of objects");
  std::vector<JsonRecord> out;
  const auto& array = v->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_object())
      return bad(key, "holds " + kind_of(array[i]) + " where an object belongs");
    out.push_back(JsonRecord(array[i].as_object(),
                             m_source + ": " + std::string(key) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

} // namespace kvmrun
