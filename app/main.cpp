// kvmrun: disposable, reproducible QEMU/KVM labs. Everything lives in the libraries.
#include "cli/cli.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <unistd.h>

int main(int argc, char** argv) {
  std::error_code ec, self_ec;
  const kvmrun::cli::CliEnvironment env{[](const char* name) { return std::getenv(name); },
                                        ::getuid(), std::filesystem::current_path(ec),
                                        ::isatty(STDERR_FILENO) == 1,
                                        std::filesystem::read_symlink("/proc/self/exe", self_ec)};
  return kvmrun::cli::run_cli({argv + 1, argv + argc}, std::cout, std::cerr, env);
}
