// A real qemu-system-x86_64 for tests, with its QMP monitor on a listening socket that the
// test created and QEMU inherited (so connecting never races QEMU's start-up).
#pragma once

#include "tests/support/background_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kvmrun::testing {

class QemuProcess {
public:
  // `extra` are appended to a minimal, explicit command line; `machine` e.g. "none" or "q35".
  QemuProcess(const std::string& machine, const std::vector<std::string>& extra = {});

  [[nodiscard]] bool started() const { return m_process != nullptr; }
  [[nodiscard]] const std::filesystem::path& qmp_socket() const { return m_socket; }
  [[nodiscard]] const TempDir& dir() const { return m_dir; }
  [[nodiscard]] BackgroundProcess& process() { return *m_process; }

private:
  TempDir m_dir;
  std::filesystem::path m_socket;
  std::unique_ptr<BackgroundProcess> m_process;
};

[[nodiscard]] bool have_qemu();

} // namespace kvmrun::testing
