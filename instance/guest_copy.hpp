// Files copied between this host and a running guest through its agent: no SSH, no network.
// A file goes a chunk at a time (memory stays bounded), under a temporary name next to the
// target, and takes the target's name only after its SHA-256 matched on both sides and its
// mode was set; a failed copy (a full disk, a vanished file) leaves nothing under the target
// name and removes its temporary file.
#pragma once

#include "base/result.hpp"
#include "qmp/agent_client.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kvmrun::instance {

using CopyProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct GuestEntry {
  std::string path; // as asked, or relative to the directory listed
  bool directory = false;
  unsigned mode = 0644;
  std::uint64_t size = 0;
};

// What is at `path` in the guest. ErrorCode::guest naming the path when there is nothing.
[[nodiscard]] Result<GuestEntry> guest_stat(qmp::AgentClient& agent, const std::string& path,
                                            Deadline deadline);
// Every directory and regular file below `dir`, parents before children.
[[nodiscard]] Result<std::vector<GuestEntry>> guest_tree(qmp::AgentClient& agent,
                                                         const std::string& dir, Deadline deadline);
[[nodiscard]] Status guest_mkdir(qmp::AgentClient& agent, const std::string& path, unsigned mode,
                                 Deadline deadline);

[[nodiscard]] Status upload_file(qmp::AgentClient& agent, const std::filesystem::path& local,
                                 const std::string& remote, const CopyProgress& progress,
                                 Deadline deadline);
// `entry` is what guest_stat or guest_tree found at `remote` (its mode and size).
[[nodiscard]] Status download_file(qmp::AgentClient& agent, const std::string& remote,
                                   const GuestEntry& entry, const std::filesystem::path& local,
                                   const CopyProgress& progress, Deadline deadline);

} // namespace kvmrun::instance
