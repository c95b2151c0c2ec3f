#include "instance/lab_key.hpp"

#include "base/file_io.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace kvmrun::instance {

std::filesystem::path lab_key_file(const std::filesystem::path& lab_state) {
  return lab_state / "ssh" / "id_ed25519";
}

Result<std::optional<LabKey>> existing_lab_key(const std::filesystem::path& lab_state) {
  const auto file = lab_key_file(lab_state);
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return std::optional<LabKey>{};
    return system_error(ErrorCode::io, "inspecting the lab's SSH key " + file.string(), errno);
  }
  const std::string remedy = "remove " + file.string() +
                             ": the next `kvmrun up` makes a new key and gives it to the lab's "
                             "instances (a new instance-id, so cloud-init runs again)";
  if (!S_ISREG(st.st_mode))
    return Error(ErrorCode::io, "the lab's SSH key " + file.string() + " is not a regular file",
                 remedy);
  if ((st.st_mode & 077U) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777U);
    return Error(ErrorCode::io,
                 "the lab's SSH key " + file.string() + " is open to other users (mode " + mode +
                     "), which ssh refuses",
                 "chmod 600 " + file.string());
  }
  auto text = read_file(file, 64U << 10U);
  if (!text)
    return std::move(text).error();
  auto key = ssh::parse_private_key_file(*text);
  if (!key)
    return Error(ErrorCode::io,
                 "the lab's SSH key " + file.string() + " is damaged (" + key.error().message() +
                     ")",
                 remedy);
  return std::optional<LabKey>{LabKey{file, std::move(key).value()}};
}

Result<LabKey> lab_key(const std::string& lab, const std::filesystem::path& lab_state) {
  auto found = existing_lab_key(lab_state);
  if (!found)
    return std::move(found).error();
  if (*found)
    return std::move(**found);
  const auto file = lab_key_file(lab_state);
  if (auto made = create_private_dirs(file.parent_path()); !made)
    return std::move(made).error().add_context("making the lab's SSH key");
  auto key = ssh::generate_ed25519("kvmrun lab " + lab);
  if (!key)
    return std::move(key).error();
  auto created = create_file_exclusive(file, ssh::private_key_file(*key, ssh::random_check_word()),
                                       0600, Durability::durable);
  if (!created) {
    // Another kvmrun made it first: theirs is the lab's key.
    auto theirs = existing_lab_key(lab_state);
    if (theirs && *theirs)
      return std::move(**theirs);
    return std::move(created).error().add_context("making the lab's SSH key");
  }
  return LabKey{file, std::move(key).value()};
}

void authorize_lab_key(lab::InstanceSpec& instance, const std::string& authorized_key) {
  auto& seed = instance.seed;
  seed.default_user_keys.push_back(authorized_key);
  for (auto& user : seed.users)
    if (std::find(instance.lab_key_users.begin(), instance.lab_key_users.end(), user.name) !=
        instance.lab_key_users.end())
      user.ssh_authorized_keys.push_back(authorized_key);
}

} // namespace kvmrun::instance
