// Errors as values. An Error carries a class (which maps to a documented exit code), a message
// naming the object and the cause, an optional remedy, and a context chain that grows as the
// error travels up ("while starting web-1: while creating overlay x.qcow2: No space left").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kvmrun {

// Failure classes. Each has its own process exit code (see exit_code() and the README).
enum class ErrorCode {
  internal, // a bug in kvmrun
  usage,    // bad command-line arguments
  config,   // the lab definition is invalid
  host,     // the host cannot run the lab (qemu, KVM, firmware, space, permissions)
  image,    // an image download, checksum or cache operation failed
  disk,     // an overlay, seed or disk image is unsafe, corrupt or cannot be written
  qemu,     // QEMU failed to start or died
  timeout,  // a bounded wait ran out (readiness gate, shutdown step, command)
  guest,    // the guest reported a failure (cloud-init error, command failed)
  io,       // a host file-system or socket operation failed
  protocol, // a QMP or guest-agent peer broke the protocol
  busy,     // another kvmrun holds the lock of this object
};

[[nodiscard]] int exit_code(ErrorCode code) noexcept;
[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;

class Error {
public:
  Error(ErrorCode code, std::string message, std::string remedy = {});

  [[nodiscard]] ErrorCode code() const noexcept { return m_code; }
  [[nodiscard]] const std::string& message() const noexcept { return m_message; }
  [[nodiscard]] const std::string& remedy() const noexcept { return m_remedy; }
  // Outermost context first.
  [[nodiscard]] const std::vector<std::string>& context() const noexcept { return m_context; }

  // Records what the caller was doing; `what` reads as "starting instance web-1".
  Error& add_context(std::string what);
  Error& set_remedy(std::string remedy);

  // One line: "while A: while B: message. Remedy: ..."
  [[nodiscard]] std::string describe() const;

private:
  ErrorCode m_code;
  std::string m_message;
  std::string m_remedy;
  std::vector<std::string> m_context;
};

// "what: strerror(err)", for failures of system calls.
[[nodiscard]] Error system_error(ErrorCode code, std::string_view what, int err,
                                 std::string remedy = {});

} // namespace kvmrun
