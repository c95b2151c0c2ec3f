// Test helpers: a temporary directory removed with everything in it, and small file writers.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kvmrun::testing {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::filesystem::path operator/(std::string_view name) const {
    return m_path / name;
  }

private:
  std::filesystem::path m_path;
};

// A tmpfs of `bytes` mounted on a fresh temporary directory, or on `at` (made if missing), needs
// root (mounted() says whether it worked), unmounted on destruction. For disk-full tests with
// a real file system.
class TmpfsMount {
public:
  explicit TmpfsMount(std::size_t bytes, std::filesystem::path at = {});
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  [[nodiscard]] bool mounted() const { return m_mounted; }
  [[nodiscard]] const std::string& why() const { return m_why; }
  [[nodiscard]] std::filesystem::path path() const { return m_at; }
  // Gives the mounted file system `bytes` in all (mount -o remount); false if that failed.
  [[nodiscard]] bool resize(std::size_t bytes) const;

private:
  TempDir m_dir;
  std::filesystem::path m_at;
  bool m_mounted = false;
  std::string m_why;
};

// Writes `content` to `path` (creating parent directories) with the given permission bits.
void write_file(const std::filesystem::path& path, std::string_view content,
                std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_write);

// Writes an executable /bin/sh script.
void write_script(const std::filesystem::path& path, std::string_view body);

} // namespace kvmrun::testing
