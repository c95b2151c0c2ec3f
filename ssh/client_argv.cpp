#include "ssh/client_argv.hpp"

namespace kvmrun::ssh {

namespace {

// ssh expands %-tokens in identity and known-hosts paths, and splits a known-hosts option at
// white space unless it is double-quoted.
std::string literal_path(const std::filesystem::path& path, bool quote) {
  std::string out;
  for (const char c : path.string()) {
    out.push_back(c);
    if (c == '%')
      out.push_back('%');
  }
  if (quote && out.find_first_of(" \t") != std::string::npos)
    return std::string(1, '"').append(out).append(1, '"');
  return out;
}

} // namespace

std::vector<std::string> ssh_argv(const SshTarget& t) {
  std::vector<std::string> argv{t.client.string(),
                                "-i",
                                literal_path(t.identity, false),
                                "-o",
                                "IdentitiesOnly=yes",
                                "-o",
                                "IdentityAgent=none",
                                "-o",
                                "UserKnownHostsFile=" + literal_path(t.known_hosts, true),
                                "-o",
                                "GlobalKnownHostsFile=/dev/null",
                                "-o",
                                "StrictHostKeyChecking=yes",
                                "-o",
                                "UpdateHostKeys=no",
                                "-o",
                                "CheckHostIP=no",
                                "-o",
                                "HostKeyAlias=" + t.host_key_alias,
                                "-o",
                                "BatchMode=yes",
                                "-p",
                                std::to_string(t.port),
                                "-l",
                                t.user,
                                t.address};
  if (!t.command.empty()) {
    argv.emplace_back("--");
    argv.insert(argv.end(), t.command.begin(), t.command.end());
  }
  return argv;
}

} // namespace kvmrun::ssh
