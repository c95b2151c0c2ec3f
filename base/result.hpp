// Result<T>: a value or an Error. Expected failures travel as values; the top level turns them
// into one message and an exit code. Accessing the wrong alternative is a programming error and
// asserts.
#pragma once

#include "base/error.hpp"

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace kvmrun {

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : m_value(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_value(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool ok() const noexcept { return m_value.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_value);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_value);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_value));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(m_value);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(m_value));
  }

  // Adds "while <what>" to a failure; a success passes through.
  Result context(std::string what) && {
    if (!ok())
      std::get<1>(m_value).add_context(std::move(what));
    return std::move(*this);
  }

private:
  std::variant<T, Error> m_value;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}

  [[nodiscard]] bool ok() const noexcept { return !m_error.has_value(); }
  explicit operator bool() const noexcept { return ok(); }

  const Error& error() const& {
    assert(!ok());
    return *m_error;
  }
  Error&& error() && {
    assert(!ok());
    return std::move(*m_error);
  }

  Result context(std::string what) && {
    if (m_error)
      m_error->add_context(std::move(what));
    return std::move(*this);
  }

private:
  std::optional<Error> m_error;
};

using Status = Result<void>;

// The first failure among `results`, if any: for reading several fields, then checking once.
template <typename... Results>
[[nodiscard]] std::optional<Error> first_error(const Results&... results) {
  std::optional<Error> first;
  ((first || results.ok() || (first = results.error(), true)), ...);
  return first;
}

} // namespace kvmrun
