#include "lab/values.hpp"

#include "base/digest.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace kvmrun::lab {

namespace {

std::optional<std::uint64_t> parse_uint(std::string_view text) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

// Splits "123unit" into its number and unit.
std::pair<std::string_view, std::string_view> number_and_unit(std::string_view text) {
  const auto end = std::find_if(text.begin(), text.end(), [](char c) {
    return !std::isdigit(static_cast<unsigned char>(c));
  });
  const auto split = static_cast<std::size_t>(end - text.begin());
  return {text.substr(0, split), text.substr(split)};
}

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

} // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const auto [number, unit] = number_and_unit(text);
  const auto value = parse_uint(number);
  if (!value)
    return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, unsigned>, 9> units{{{"B", 0},
                                                                               {"K", 10},
                                                                               {"KiB", 10},
                                                                               {"M", 20},
                                                                               {"MiB", 20},
                                                                               {"G", 30},
                                                                               {"GiB", 30},
                                                                               {"T", 40},
                                                                               {"TiB", 40}}};
  for (const auto& [name, shift] : units)
    if (unit == name) {
      if (*value > (std::numeric_limits<std::uint64_t>::max() >> shift))
        return std::nullopt;
      return *value << shift;
    }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto [number, unit] = number_and_unit(text);
  const auto value = parse_uint(number);
  if (!value || *value > 10'000'000'000ULL)
    return std::nullopt;
  const auto v = static_cast<std::int64_t>(*value);
  if (unit == "ms")
    return std::chrono::milliseconds(v);
  if (unit == "s")
    return std::chrono::seconds(v);
  if (unit == "m")
    return std::chrono::minutes(v);
  if (unit == "h")
    return std::chrono::hours(v);
  return std::nullopt;
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !std::islower(static_cast<unsigned char>(name.front())) ||
      name.back() == '-')
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 32 ||
      !(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253)
    return false;
  while (true) {
    const auto dot = name.find('.');
    const auto label = name.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
        }))
      return false;
    if (dot == std::string_view::npos)
      return true;
    name.remove_prefix(dot + 1);
  }
}

std::optional<std::string> parse_mac(std::string_view text) {
  if (text.size() != 17)
    return std::nullopt;
  std::string mac;
  for (std::size_t i = 0; i < 17; ++i) {
    const char c = text[i];
    if (i % 3 == 2) {
      if (c != ':')
        return std::nullopt;
      mac.push_back(':');
    } else {
      if (!is_hex(c))
        return std::nullopt;
      mac.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  const int first = std::stoi(mac.substr(0, 2), nullptr, 16);
  if ((first & 1) != 0 || mac == "00:00:00:00:00:00") // multicast or empty
    return std::nullopt;
  return mac;
}

bool is_valid_ipv4(std::string_view text) {
  int parts = 0;
  while (true) {
    const auto dot = text.find('.');
    const auto part = text.substr(0, dot);
    const auto value = parse_uint(part);
    if (!value || *value > 255 || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
      return false;
    ++parts;
    if (dot == std::string_view::npos)
      break;
    text.remove_prefix(dot + 1);
  }
  return parts == 4;
}

bool is_valid_ipv4_cidr(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || !is_valid_ipv4(text.substr(0, slash)))
    return false;
  const auto prefix = parse_uint(text.substr(slash + 1));
  return prefix && *prefix >= 1 && *prefix <= 32 && text.substr(slash + 1)[0] != '0';
}

bool is_loopback_ipv4(std::string_view text) {
  return is_valid_ipv4(text) && text.substr(0, 4) == "127.";
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  if (!is_valid_ipv4(text))
    return std::nullopt;
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const auto dot = text.find('.');
    value = (value << 8U) | static_cast<std::uint32_t>(*parse_uint(text.substr(0, dot)));
    text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
  }
  return value;
}

std::string format_ipv4(std::uint32_t a) {
  return std::to_string(a >> 24U) + "." + std::to_string((a >> 16U) & 0xFFU) + "." +
         std::to_string((a >> 8U) & 0xFFU) + "." + std::to_string(a & 0xFFU);
}

std::uint32_t ipv4_mask(unsigned prefix) {
  return prefix == 0 ? 0U : ~std::uint32_t{0} << (32U - std::min(prefix, 32U));
}

std::optional<HexDigest> parse_checksum(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  const auto parsed = parse_hex_digest(text.substr(0, colon), text.substr(colon + 1));
  if (!parsed || text.substr(0, colon) != to_string(parsed->algorithm))
    return std::nullopt; // the algorithm is written in lower case here
  return parsed;
}

bool is_valid_permissions(std::string_view text) {
  return (text.size() == 3 || text.size() == 4) &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
}

bool is_valid_snapshot_tag(std::string_view tag) {
  return !tag.empty() && tag.size() <= 64 &&
         tag.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") == std::string_view::npos;
}

} // namespace kvmrun::lab
