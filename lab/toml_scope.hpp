// The lab loader's view of toml++: the only header that includes it, with kvmrun's handling of
// toml++'s failed preconditions, and the two helpers the loader walks documents with: Problems
// (every problem with its file:line:column, reported at once) and Scope (one table, or an
// instance layered over [defaults], whose unread keys are reported as unknown). Private to
// lab/: nothing outside the loader includes it, so toml++ stays confined there.
#pragma once

#include "base/result.hpp"
#include "lab/values.hpp"

// toml++ 3.3.0 checks internal preconditions of its parser with TOML_ASSERT, and some hostile
// inputs violate them (found by tests/fuzz; e.g. "a = [}"): with assert() kvmrun would abort,
// and with NDEBUG the parser would go on in a broken state. Here a failed precondition throws,
// and parse_lab() turns it into an ordinary syntax error. NDEBUG is lifted for this file so
// that TOML_ASSERT_ASSUME checks instead of assuming.
#undef NDEBUG
#include <stdexcept>
namespace kvmrun::lab {
struct TomlPreconditionFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] inline void toml_precondition_failed(const char* expression) {
  throw TomlPreconditionFailed(expression);
}
} // namespace kvmrun::lab
#define TOML_ASSERT(expr)                                                                          \
  ((expr) ? static_cast<void>(0) : ::kvmrun::lab::toml_precondition_failed(#expr))
// Its Unicode whitespace table is also wrong for U+00A1..U+0499 and reaches
// __builtin_unreachable() (undefined behaviour) on some malformed input with such characters;
// that code is noexcept, so the best available is a deterministic stop with an explanation.
// The precheck below rejects most such input first.
#include <cstdio>
#include <cstdlib>
#include <toml++/impl/preprocessor.h>
namespace kvmrun::lab {
[[noreturn]] inline void toml_unreachable() noexcept {
  std::fputs("kvmrun: internal error: the TOML parser (toml++ 3.3.0) reached a state it "
             "cannot handle on this lab file; look for stray non-ASCII characters outside "
             "strings\n",
             stderr);
  std::abort();
}
} // namespace kvmrun::lab
#undef TOML_UNREACHABLE
#define TOML_UNREACHABLE ::kvmrun::lab::toml_unreachable()
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::lab::toml_view {

// Problems ordered by position; identical ones (a bad default seen by every instance) once.
class Problems {
public:
  explicit Problems(std::string source) : m_source(std::move(source)) {}

  void add(const toml::source_region& where, std::string_view path, std::string_view what) {
    m_items.emplace(std::make_pair(where.begin.line, where.begin.column),
                    m_source + ":" + std::to_string(where.begin.line) + ":" +
                        std::to_string(where.begin.column) + ": " + std::string(path) + ": " +
                        std::string(what));
  }
  // At a position recorded earlier (a spec keeps where a value was written).
  void add_at(std::uint32_t line, std::uint32_t column, std::string_view path,
              std::string_view what) {
    m_items.emplace(std::make_pair(line, column), m_source + ":" + std::to_string(line) + ":" +
                                                      std::to_string(column) + ": " +
                                                      std::string(path) + ": " + std::string(what));
  }
  [[nodiscard]] bool empty() const { return m_items.empty(); }
  [[nodiscard]] Error error() const {
    std::string text = std::to_string(m_items.size()) + " problem" +
                       (m_items.size() == 1 ? "" : "s") + " in the lab definition:";
    for (const auto& [pos, line] : m_items)
      text += "\n  " + line;
    return Error(ErrorCode::config, text,
                 "fix the lab definition (README.md \"Lab definition\" lists every key)");
  }
  [[nodiscard]] const std::string& source() const { return m_source; }

private:
  std::string m_source;
  std::set<std::pair<std::pair<std::uint32_t, std::uint32_t>, std::string>> m_items;
};

inline std::string_view type_name(toml::node_type t) {
  switch (t) {
  case toml::node_type::table: return "a table";
  case toml::node_type::array: return "an array";
  case toml::node_type::string: return "a string";
  case toml::node_type::integer: return "an integer";
  case toml::node_type::floating_point: return "a number";
  case toml::node_type::boolean: return "a boolean";
  default: return "a date or time";
  }
}

inline std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// A view of one table, or of an instance table layered over the [defaults] table: a key is
// looked up in the first layer that has it, and reported under that layer's path. Every key
// read is marked; finish() reports the keys nobody read as unknown.
class Scope {
public:
  struct Layer {
    const toml::table* table;
    std::string path;
  };

  Scope(Problems& problems, std::vector<Layer> layers, bool report_unknown_in_all = true)
      : m_problems(problems), m_layers(std::move(layers)), m_report_all(report_unknown_in_all) {}

  // The node for `key` and its dotted path, from the first layer that has it.
  std::pair<const toml::node*, std::string> find(std::string_view key) {
    m_used.insert(std::string(key));
    for (const auto& layer : m_layers)
      if (layer.table != nullptr)
        if (const toml::node* n = layer.table->get(key))
          return {n, join_path(layer.path, key)};
    return {nullptr, join_path(m_layers.front().path, key)};
  }

  void problem(const toml::node& n, const std::string& path, std::string_view what) {
    m_problems.add(n.source(), path, what);
  }

  bool wrong_type(const toml::node& n, const std::string& path, std::string_view expected) {
    problem(n, path,
            "expected " + std::string(expected) + ", got " + std::string(type_name(n.type())));
    return false;
  }

  std::optional<std::string> string(std::string_view key) {
    auto [n, path] = find(key);
    if (n == nullptr)
      return std::nullopt;
    if (const auto* s = n->as_string())
      return s->get();
    wrong_type(*n, path, "a string");
    return std::nullopt;
  }

  // A string that `check` accepts; otherwise a problem saying what was expected.
  std::optional<std::string> checked_string(std::string_view key,
                                            const std::function<bool(std::string_view)>& check,
                                            std::string_view expectation) {
    auto [n, path] = find(key);
    auto value = string(key);
    if (value && !check(*value)) {
      problem(*n, path, std::string(expectation) + ", got \"" + *value + "\"");
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> boolean(std::string_view key) {
    auto [n, path] = find(key);
    if (n == nullptr)
      return std::nullopt;
    if (const auto* b = n->as_boolean())
      return b->get();
    wrong_type(*n, path, "true or false");
    return std::nullopt;
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) {
    auto [n, path] = find(key);
    if (n == nullptr)
      return std::nullopt;
    const auto* i = n->as_integer();
    if (i == nullptr) {
      wrong_type(*n, path, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    if (i->get() < min || i->get() > max) {
      problem(*n, path,
              "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                  std::to_string(i->get()));
      return std::nullopt;
    }
    return i->get();
  }

  std::optional<std::uint64_t> size(std::string_view key, std::uint64_t min, std::uint64_t max,
                                    std::string_view example) {
    auto [n, path] = find(key);
    if (n == nullptr)
      return std::nullopt;
    const auto* s = n->as_string();
    if (s == nullptr) {
      wrong_type(*n, path, "a size such as \"" + std::string(example) + "\"");
      return std::nullopt;
    }
    const auto bytes = parse_size(s->get());
    if (!bytes) {
      problem(*n, path,
              "\"" + s->get() + "\" is not a size; write it like \"" + std::string(example) +
                  "\" (units B, KiB, MiB, GiB, TiB)");
      return std::nullopt;
    }
    if (*bytes < min || *bytes > max) {
      problem(*n, path,
              "\"" + s->get() + "\" is out of range (" + std::to_string(min >> 20U) + " MiB to " +
                  std::to_string(max >> 30U) + " GiB)");
      return std::nullopt;
    }
    return bytes;
  }

  std::vector<std::string> strings(std::string_view key) {
    auto [n, path] = find(key);
    std::vector<std::string> out;
    if (n == nullptr)
      return out;
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      wrong_type(*n, path, "an array of strings");
      return out;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::node& item = *arr->get(i);
      if (const auto* s = item.as_string())
        out.push_back(s->get());
      else
        wrong_type(item, path + "[" + std::to_string(i) + "]", "a string");
    }
    return out;
  }

  // A sub-table, layered the same way.
  Scope table(std::string_view key) {
    m_used.insert(std::string(key));
    std::vector<Layer> layers;
    for (const auto& layer : m_layers) {
      const toml::table* sub = nullptr;
      if (layer.table != nullptr)
        if (const toml::node* n = layer.table->get(key)) {
          sub = n->as_table();
          if (sub == nullptr)
            wrong_type(*n, join_path(layer.path, key), "a table");
        }
      layers.push_back({sub, join_path(layer.path, key)});
    }
    return Scope(m_problems, std::move(layers), m_report_all);
  }

  // Tables of an array of tables (TOML [[x]] or x = [{...}]); problems for other items.
  std::vector<std::pair<const toml::table*, std::string>> tables(std::string_view key) {
    auto [n, path] = find(key);
    std::vector<std::pair<const toml::table*, std::string>> out;
    if (n == nullptr)
      return out;
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      wrong_type(*n, path, "an array of tables");
      return out;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      if (const auto* t = arr->get(i)->as_table())
        out.emplace_back(t, item_path);
      else
        wrong_type(*arr->get(i), item_path, "a table");
    }
    return out;
  }

  // A required key is absent: reported at the table that should have held it.
  void missing(std::string_view key, std::string_view what) {
    for (const auto& layer : m_layers)
      if (layer.table != nullptr) {
        m_problems.add(layer.table->source(), join_path(m_layers.front().path, key), what);
        return;
      }
    m_problems.add({}, join_path(m_layers.front().path, key), what);
  }

  // A problem with the table as a whole (its values do not fit together), reported at it.
  void complain(std::string_view what) {
    for (const auto& layer : m_layers)
      if (layer.table != nullptr) {
        m_problems.add(layer.table->source(), layer.path, what);
        return;
      }
    m_problems.add({}, m_layers.front().path, what);
  }

  bool present() const {
    return std::any_of(m_layers.begin(), m_layers.end(),
                       [](const Layer& l) { return l.table != nullptr; });
  }

  // Reports every key of every layer (or only the first) that nothing read.
  void finish() {
    for (std::size_t i = 0; i < m_layers.size(); ++i) {
      if (m_layers[i].table == nullptr || (i > 0 && !m_report_all))
        continue;
      for (const auto& [key, node] : *m_layers[i].table)
        if (!m_used.contains(std::string(key.str())))
          m_problems.add(key.source(), join_path(m_layers[i].path, key.str()), "unknown key");
    }
  }

  Problems& problems() { return m_problems; }

private:
  Problems& m_problems;
  std::vector<Layer> m_layers;
  bool m_report_all;
  std::set<std::string, std::less<>> m_used;
};

} // namespace kvmrun::lab::toml_view
