// The command line of the system ssh client for one instance: kvmrun's lab key only (no agent,
// no other identity), the instance's own known-hosts file checked strictly under a fixed alias
// (never a prompt, never a key added or updated by ssh), in batch mode. Pure: argv, no shell.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::ssh {

struct SshTarget {
  std::filesystem::path client; // the ssh program
  std::string user;
  std::string address; // where the forward listens, e.g. 127.0.0.1
  std::uint16_t port = 22;
  std::filesystem::path identity;
  std::filesystem::path known_hosts;
  std::string host_key_alias;
  std::vector<std::string> command; // after `--`; empty: a login shell
};

[[nodiscard]] std::vector<std::string> ssh_argv(const SshTarget& target);

} // namespace kvmrun::ssh
