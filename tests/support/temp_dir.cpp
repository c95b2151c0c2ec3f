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
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

TmpfsMount::TmpfsMount(std::size_t bytes) {
  if (::geteuid() != 0) {
    m_why = "not root";
    return;
  }
  const auto r = run_command({"mount", "-t", "tmpfs", "-o", "size=" + std::to_string(bytes),
                              "kvmrun-test", m_dir.path().string()});
  if (!r.ok()) {
    m_why = r.error().describe();
    return;
  }
  m_mounted = r->success();
  m_why = r->err;
}

TmpfsMount::~TmpfsMount() {
  if (m_mounted)
    (void)run_command({"umount", m_dir.path().string()});
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
