#include "base/error.hpp"

#include <cstring>

namespace kvmrun {

int exit_code(ErrorCode code) noexcept {
  // Stable and documented in README.md ("Exit codes"); 1 is left for "checks failed".
  switch (code) {
  case ErrorCode::internal: return 70;
  case ErrorCode::usage: return 2;
  case ErrorCode::config: return 3;
  case ErrorCode::host: return 4;
  case ErrorCode::image: return 5;
  case ErrorCode::disk: return 6;
  case ErrorCode::qemu: return 7;
  case ErrorCode::timeout: return 8;
  case ErrorCode::guest: return 9;
  case ErrorCode::io: return 10;
  case ErrorCode::protocol: return 11;
  case ErrorCode::busy: return 12;
  }
  return 70;
}

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
  case ErrorCode::internal: return "internal";
  case ErrorCode::usage: return "usage";
  case ErrorCode::config: return "config";
  case ErrorCode::host: return "host";
  case ErrorCode::image: return "image";
  case ErrorCode::disk: return "disk";
  case ErrorCode::qemu: return "qemu";
  case ErrorCode::timeout: return "timeout";
  case ErrorCode::guest: return "guest";
  case ErrorCode::io: return "io";
  case ErrorCode::protocol: return "protocol";
  case ErrorCode::busy: return "busy";
  }
  return "internal";
}

Error::Error(ErrorCode code, std::string message, std::string remedy)
    : m_code(code), m_message(std::move(message)), m_remedy(std::move(remedy)) {}

Error& Error::add_context(std::string what) {
  m_context.insert(m_context.begin(), std::move(what));
  return *this;
}

Error& Error::set_remedy(std::string remedy) {
  m_remedy = std::move(remedy);
  return *this;
}

std::string Error::describe() const {
  std::string line;
  for (const auto& what : m_context) {
    line += "while ";
    line += what;
    line += ": ";
  }
  line += m_message;
  if (!m_remedy.empty()) {
    // A multi-line message (a list of problems) gets its remedy on a line of its own.
    line += m_message.find('\n') == std::string::npos ? ". Remedy: " : "\nRemedy: ";
    line += m_remedy;
  }
  return line;
}

Error system_error(ErrorCode code, std::string_view what, int err, std::string remedy) {
  std::string message(what);
  message += ": ";
  message += std::strerror(err);
  return Error(code, std::move(message), std::move(remedy));
}

} // namespace kvmrun
