#include "ssh/known_hosts.hpp"

namespace kvmrun::ssh {

namespace {

constexpr std::string_view id_prefix = "# instance-id ";

} // namespace

std::string render_known_hosts(const HostKeys& record) {
  std::string text = "# kvmrun: the SSH host keys of " + record.alias +
                     ", read from the guest through its agent\n";
  text.append(id_prefix).append(record.instance_id).push_back('\n');
  for (const auto& key : record.keys)
    text.append(record.alias).append(" ").append(to_text(key)).push_back('\n');
  return text;
}

Result<HostKeys> parse_known_hosts(std::string_view text, std::string_view expected_alias) {
  HostKeys record{std::string(expected_alias), {}, {}};
  std::size_t number = 0;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const auto line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++number;
    const auto at = [&](const std::string& what) {
      return Error(ErrorCode::protocol, "line " + std::to_string(number) + ": " + what);
    };
    if (line.empty())
      continue;
    if (line.starts_with(id_prefix)) {
      record.instance_id = std::string(line.substr(id_prefix.size()));
      continue;
    }
    if (line.starts_with('#'))
      continue;
    const auto space = line.find(' ');
    if (space == std::string_view::npos || line.substr(0, space) != expected_alias)
      return at("expected a key of " + std::string(expected_alias));
    auto key = parse_public_key(line.substr(space + 1));
    if (!key)
      return at(key.error().message());
    record.keys.push_back(std::move(key).value());
  }
  if (record.instance_id.empty())
    return Error(ErrorCode::protocol, "there is no \"# instance-id\" line");
  if (record.keys.empty())
    return Error(ErrorCode::protocol, "it has no key");
  return record;
}

} // namespace kvmrun::ssh
