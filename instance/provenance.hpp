// Where a running instance came from: <state>/<lab>/<instance>/provenance.json, written by
// `up` once every other gate passed, read back by `status` and by `check`'s provenance gate.
// The one type, writer and reader of that file; the reader checks every field.
#pragma once

#include "base/result.hpp"

#include <boost/json/object.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::instance {

struct Provenance {
  std::string lab;
  std::string instance;
  std::string config_hash; // sha256 of the lab definition's text
  std::string base_digest; // "sha512:..." of the verified base image
  std::string base_url;    // where it came from (for a built-in image, the source chosen)
  std::string seed_sha256; // of the seed ISO QEMU was given
  std::string instance_id; // the seed's instance-id
  std::vector<std::string> argv;
  // A clone restored from a template (templates/): the template's name and the instance-id the
  // guest was provisioned with there (its cloud-init ran then). Empty: it booted.
  std::string template_name;
  std::string template_instance_id;

  friend bool operator==(const Provenance&, const Provenance&) = default;
};

// The record as JSON; without the argv when `with_argv` is false (what `status` shows).
[[nodiscard]] boost::json::object to_json(const Provenance& provenance, bool with_argv = true);

// Durable, mode 0600. ErrorCode::io.
[[nodiscard]] Status write_provenance(const std::filesystem::path& file,
                                      const Provenance& provenance);

// ErrorCode::io naming the file and the field when it is missing, empty, not JSON, or a field
// is absent or of another type (base_url and the template fields may be absent: records older
// than them are read as not saying).
[[nodiscard]] Result<Provenance> read_provenance(const std::filesystem::path& file);

} // namespace kvmrun::instance
