// The known-hosts file kvmrun gives ssh (UserKnownHostsFile) for one instance: OpenSSH's
// known_hosts format, every line naming the instance by its HostKeyAlias, with a comment line
// recording which instance-id the keys were read for (a new instance-id means cloud-init made
// new host keys). ssh reads the key lines; kvmrun reads all of it, checked.
#pragma once

#include "base/result.hpp"
#include "ssh/public_key.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::ssh {

struct HostKeys {
  std::string alias;       // the HostKeyAlias ssh looks the keys up by
  std::string instance_id; // of the guest they were read from
  std::vector<PublicKey> keys;

  friend bool operator==(const HostKeys&, const HostKeys&) = default;
};

[[nodiscard]] std::string render_known_hosts(const HostKeys& record);

// ErrorCode::protocol naming the line: a key line for another host, a key that does not parse,
// no instance-id line, no key at all.
[[nodiscard]] Result<HostKeys> parse_known_hosts(std::string_view text,
                                                 std::string_view expected_alias);

} // namespace kvmrun::ssh
