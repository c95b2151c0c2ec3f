// Typed guest-agent commands over an AgentClient, blocking with a deadline (they run the
// client's event loop). guest-exec output arrives base64-encoded and is decoded here.
#pragma once

#include "base/result.hpp"
#include "qmp/agent_client.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kvmrun::qmp {

[[nodiscard]] Status guest_ping(AgentClient& agent, Deadline deadline);

// guest-set-time: the guest's clock set to `ns_since_epoch` (and written to its RTC).
[[nodiscard]] Status guest_set_time(AgentClient& agent, std::int64_t ns_since_epoch,
                                    Deadline deadline);

// guest-get-time: the guest's clock, nanoseconds since 1970.
[[nodiscard]] Result<std::int64_t> guest_get_time(AgentClient& agent, Deadline deadline);

struct GuestInfo {
  std::string version;
  std::vector<std::string> enabled_commands;
};
[[nodiscard]] Result<GuestInfo> guest_info(AgentClient& agent, Deadline deadline);

struct GuestOsInfo {
  std::string id, name, pretty_name, version_id, kernel_release, machine;
};
[[nodiscard]] Result<GuestOsInfo> guest_osinfo(AgentClient& agent, Deadline deadline);

struct GuestInterface {
  std::string name;
  std::string mac;
  std::vector<std::string> addresses; // "10.0.2.15/24", "fe80::.../64"
  // The guest's counters for it, where the agent gives them ("statistics").
  std::optional<std::uint64_t> rx_bytes, tx_bytes, rx_packets, tx_packets;
};
[[nodiscard]] Result<std::vector<GuestInterface>> guest_network_interfaces(AgentClient& agent,
                                                                           Deadline deadline);

struct ExecStatus {
  bool exited = false;
  int exit_code = -1; // when exited normally
  int signal = 0;     // when killed by a signal
  std::string out;    // decoded stdout
  std::string err;    // decoded stderr
  bool truncated = false;
};

// Starts `path args...` in the guest with its output captured; returns the guest pid.
// `input` becomes its standard input; `env` ("K=V" each) its environment.
[[nodiscard]] Result<std::int64_t> guest_exec(AgentClient& agent, const std::string& path,
                                              const std::vector<std::string>& args,
                                              Deadline deadline,
                                              const std::optional<std::string>& input = {},
                                              const std::vector<std::string>& env = {});
[[nodiscard]] Result<ExecStatus> guest_exec_status(AgentClient& agent, std::int64_t pid,
                                                   Deadline deadline);
// guest-exec, then guest-exec-status until it exits (polled on timers: the agent has no
// completion event), all before `deadline`. ErrorCode::timeout names the command.
[[nodiscard]] Result<ExecStatus> guest_run(AgentClient& agent, const std::string& path,
                                           const std::vector<std::string>& args, Deadline deadline,
                                           const std::optional<std::string>& input = {},
                                           const std::vector<std::string>& env = {});

// A guest file a chunk at a time: guest-file-open (mode "r", "w", ...) gives a handle, read
// returns the next bytes and whether the end was reached, write must take every byte
// (ErrorCode::guest with the agent's words otherwise: a full disk says so), close ends it.
[[nodiscard]] Result<std::int64_t> guest_file_open(AgentClient& agent, const std::string& path,
                                                   const std::string& mode, Deadline deadline);
struct FileChunk {
  std::string bytes;
  bool eof = false;
};
[[nodiscard]] Result<FileChunk> guest_file_read(AgentClient& agent, std::int64_t handle,
                                                std::size_t count, Deadline deadline);
[[nodiscard]] Status guest_file_write(AgentClient& agent, std::int64_t handle,
                                      std::string_view bytes, Deadline deadline);
[[nodiscard]] Status guest_file_close(AgentClient& agent, std::int64_t handle, Deadline deadline);

// A small file written whole in the guest (guest-file-open "w", write, close): for files a
// process need not be started for, such as /proc/sys/kernel/hostname.
[[nodiscard]] Status guest_write_file(AgentClient& agent, const std::string& path,
                                      std::string_view bytes, Deadline deadline);

// A whole file from the guest (guest-file-open/read/close), refusing more than `max_bytes`.
[[nodiscard]] Result<std::string> guest_read_file(AgentClient& agent, const std::string& path,
                                                  Deadline deadline,
                                                  std::size_t max_bytes = 16U << 20U);

// guest-shutdown (mode "powerdown", "halt" or "reboot"); the agent sends no reply on success.
[[nodiscard]] Status guest_shutdown(AgentClient& agent, const std::string& mode, Deadline deadline);

// How each reply is read, apart from the exchange. The guest is not trusted: any JSON value
// gives a typed result or ErrorCode::protocol, never an exception (integers only as integers
// within range; fuzzed by tests/fuzz/agent_replies_fuzz.cpp).
namespace reply {
[[nodiscard]] Result<std::int64_t> time(const boost::json::value& v);
[[nodiscard]] Result<GuestInfo> info(const boost::json::value& v);
[[nodiscard]] Result<GuestOsInfo> osinfo(const boost::json::value& v);
[[nodiscard]] Result<std::vector<GuestInterface>> interfaces(const boost::json::value& v);
[[nodiscard]] Result<std::int64_t> exec_pid(const boost::json::value& v);
[[nodiscard]] Result<ExecStatus> exec_status(const boost::json::value& v);
[[nodiscard]] Result<std::int64_t> file_handle(const boost::json::value& v);
[[nodiscard]] Result<FileChunk> file_chunk(const boost::json::value& v);
[[nodiscard]] std::optional<std::int64_t> file_written(const boost::json::value& v); // "count"
} // namespace reply

} // namespace kvmrun::qmp
