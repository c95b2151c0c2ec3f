#include "tests/support/qemu_process.hpp"

#include "base/subprocess.hpp"
#include "base/unix_socket.hpp"

namespace kvmrun::testing {

bool have_qemu() { return find_executable("qemu-system-x86_64").has_value(); }

QemuProcess::QemuProcess(const std::string& machine, const std::vector<std::string>& extra) {
  m_socket = m_dir / "qmp.sock";
  auto listener = listen_unix(m_socket);
  if (!listener)
    return;
  std::vector<std::string> argv{"qemu-system-x86_64",
                                "-nodefaults",
                                "-no-user-config",
                                "-machine",
                                machine,
                                "-accel",
                                "tcg",
                                "-display",
                                "none",
                                "-chardev",
                                "socket,id=qmp,fd=3,server=on,wait=off",
                                "-mon",
                                "chardev=qmp,mode=control"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  m_process = std::make_unique<BackgroundProcess>(
      argv, std::vector<std::pair<int, int>>{{listener->get(), 3}});
}

} // namespace kvmrun::testing
