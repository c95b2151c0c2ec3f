#include "tests/support/temp_dir.hpp"

#include "base/subprocess.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace kvmrun::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kvmrun-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  m_path = pattern;
  // Passable, not listable: when the tests run as root, kvmrun runs QEMU as another user, who
  // must reach the lab files kept in here (instance/qemu_user.hpp).
  std::filesystem::permissions(m_path, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_exec);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

TmpfsMount::TmpfsMount(std::size_t bytes, std::filesystem::path at)
    : m_at(at.empty() ? m_dir.path() : std::move(at)) {
  if (::geteuid() != 0) {
    m_why = "not root";
    return;
  }
  std::filesystem::create_directories(m_at);
  const auto r = run_command({"mount", "-t", "tmpfs", "-o", "size=" + std::to_string(bytes),
                              "kvmrun-test", m_at.string()});
  if (!r.ok()) {
    m_why = r.error().describe();
    return;
  }
  m_mounted = r->success();
  m_why = r->err;
}

TmpfsMount::~TmpfsMount() {
  if (m_mounted)
    (void)run_command({"umount", m_at.string()});
}

bool TmpfsMount::resize(std::size_t bytes) const {
  const auto r = run_command(
      {"mount", "-o", "remount,size=" + std::to_string(bytes), "kvmrun-test", m_at.string()});
  return r.ok() && r->success();
}

void write_file(const std::filesystem::path& path, std::string_view content,
                std::filesystem::perms perms) {
  std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out)
      throw std::runtime_error("cannot write " + path.string());
  }
  std::filesystem::permissions(path, perms);
}

void write_script(const std::filesystem::path& path, std::string_view body) {
  using std::filesystem::perms;
  write_file(path, "#!/bin/sh\n" + std::string(body) + "\n",
             perms::owner_read | perms::owner_write | perms::owner_exec);
}

} // namespace kvmrun::testing
