#include "instance/host_keys.hpp"

#include "base/file_io.hpp"
#include "qmp/agent_commands.hpp"

#include <array>
#include <cerrno>
#include <sys/stat.h>

namespace kvmrun::instance {

namespace {

constexpr std::array<std::string_view, 3> host_key_types = {"ed25519", "ecdsa", "rsa"};

std::string pub_file(std::string_view type) {
  return "/etc/ssh/ssh_host_" + std::string(type) + "_key.pub";
}

} // namespace

std::string host_key_alias(std::string_view lab, std::string_view instance) {
  return "kvmrun." + std::string(lab) + "." + std::string(instance);
}

Result<std::vector<ssh::PublicKey>> read_guest_host_keys(qmp::AgentClient& agent,
                                                         Deadline deadline) {
  std::vector<ssh::PublicKey> keys;
  for (const auto type : host_key_types) {
    const auto file = pub_file(type);
    auto text = qmp::guest_read_file(agent, file, deadline, 64U << 10U);
    if (!text) {
      if (text.error().code() == ErrorCode::guest) // the agent could not open it: no such key
        continue;
      return std::move(text).error().add_context("reading the guest's SSH host keys");
    }
    auto key = ssh::parse_public_key(*text);
    if (!key)
      return Error(ErrorCode::guest,
                   file + " in the guest is not an SSH public key (" + key.error().message() + ")",
                   "regenerate the guest's host keys: ssh-keygen -A");
    keys.push_back(std::move(key).value());
  }
  if (keys.empty())
    return Error(ErrorCode::guest,
                 "the guest has no SSH host key (no /etc/ssh/ssh_host_{ed25519,ecdsa,rsa}_key.pub)",
                 "its image needs an SSH server (openssh-server) for `kvmrun ssh`; `kvmrun exec` "
                 "and `kvmrun cp` work through the agent without one");
  return keys;
}

Result<std::optional<ssh::HostKeys>> read_host_key_record(const InstancePaths& paths,
                                                          const std::string& alias,
                                                          const std::string& instance) {
  const auto file = paths.known_hosts();
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 && errno == ENOENT)
    return std::optional<ssh::HostKeys>{};
  auto text = read_file(file, 1U << 20U);
  if (!text)
    return std::move(text).error();
  auto record = ssh::parse_known_hosts(*text, alias);
  if (!record)
    return Error(ErrorCode::io,
                 "the host-key record " + file.string() +
                     " is damaged: " + record.error().message(),
                 "`kvmrun ssh " + instance + " --reset-host-key` reads the guest's keys again");
  return std::optional<ssh::HostKeys>{std::move(record).value()};
}

Status write_host_key_record(const InstancePaths& paths, const ssh::HostKeys& record) {
  return write_file_atomic(paths.known_hosts(), ssh::render_known_hosts(record), 0600,
                           Durability::durable);
}

} // namespace kvmrun::instance
