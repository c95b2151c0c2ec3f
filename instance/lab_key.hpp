// The lab's SSH key: <state>/<lab>/ssh/id_ed25519, an ed25519 key in OpenSSH's format, mode
// 0600, made on first use (the lab's first `up`, `check` or `seed`) and kept until the lab's
// state is removed. Its public half goes into every instance's seed: to the image's default
// user and to each declared user (unless kvmrun_key = false). The private key is never put in a
// seed, an argv, a log or evidence; `kvmrun ssh` passes its path to ssh.
#pragma once

#include "base/result.hpp"
#include "lab/lab_spec.hpp"
#include "ssh/private_key.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace kvmrun::instance {

struct LabKey {
  std::filesystem::path file;
  ssh::Ed25519Key key;
};

[[nodiscard]] std::filesystem::path lab_key_file(const std::filesystem::path& lab_state);

// The key, made first when there is none (two kvmruns making it at once agree on one).
// ErrorCode::io naming the file, what is wrong and how to recover when it is damaged or
// readable by others (ssh would refuse it).
[[nodiscard]] Result<LabKey> lab_key(const std::string& lab,
                                     const std::filesystem::path& lab_state);

// The same without making one: nullopt when there is none.
[[nodiscard]] Result<std::optional<LabKey>>
existing_lab_key(const std::filesystem::path& lab_state);

// Gives `authorized_key` ("ssh-ed25519 ... comment") to the instance's default user and to its
// lab_key_users, in its seed.
void authorize_lab_key(lab::InstanceSpec& instance, const std::string& authorized_key);

} // namespace kvmrun::instance
