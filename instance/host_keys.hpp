// The SSH host keys of an instance as kvmrun knows them. They are read from the guest's
// /etc/ssh/ssh_host_{ed25519,ecdsa,rsa}_key.pub through its agent, a virtio-serial channel
// between this host and the guest that no one on a network can sit in the middle of (the host
// private keys never leave the guest), and recorded in <state>/<lab>/<instance>/ssh_known_hosts,
// the known-hosts file `kvmrun ssh` gives ssh for strict checking.
#pragma once

#include "base/result.hpp"
#include "instance/paths.hpp"
#include "qmp/agent_client.hpp"
#include "ssh/known_hosts.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::instance {

// The name ssh files the instance's keys under (HostKeyAlias): "kvmrun.<lab>.<instance>".
[[nodiscard]] std::string host_key_alias(std::string_view lab, std::string_view instance);

// The host public keys the guest has now. ErrorCode::guest when it has none (no SSH server),
// naming the files looked for; the agent's own failures as they are.
[[nodiscard]] Result<std::vector<ssh::PublicKey>> read_guest_host_keys(qmp::AgentClient& agent,
                                                                       Deadline deadline);

// nullopt when nothing is recorded. ErrorCode::io naming the file and the line when it is
// damaged, with --reset-host-key as the remedy.
[[nodiscard]] Result<std::optional<ssh::HostKeys>>
read_host_key_record(const InstancePaths& paths, const std::string& alias,
                     const std::string& instance);
[[nodiscard]] Status write_host_key_record(const InstancePaths& paths, const ssh::HostKeys& record);

} // namespace kvmrun::instance
