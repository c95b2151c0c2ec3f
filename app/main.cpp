// kvmrun: disposable, reproducible QEMU/KVM labs. Everything lives in the libraries.
#include "cli/cli.hpp"

#include <malloc.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char** argv) {
  // One malloc arena for the whole process: glibc gives each gate thread its own otherwise,
  // which took kvmrun's peak resident memory from 7 MiB to 27 MiB with a single instance.
  ::mallopt(M_ARENA_MAX, 1);
  std::error_code ec, self_ec;
  // Standard output's width when it is a terminal (up's live status lines), else 0.
  std::size_t columns = 0;
  if (::isatty(STDOUT_FILENO) == 1) {
    winsize size{};
    columns = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
  }
  const kvmrun::cli::CliEnvironment env{[](const char* name) { return std::getenv(name); },
                                        ::getuid(),
                                        std::filesystem::current_path(ec),
                                        ::isatty(STDERR_FILENO) == 1,
                                        std::filesystem::read_symlink("/proc/self/exe", self_ec),
                                        &std::cin,
                                        ::isatty(STDIN_FILENO) == 1,
                                        columns};
  return kvmrun::cli::run_cli({argv + 1, argv + argc}, std::cout, std::cerr, env);
}
