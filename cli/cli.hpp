// The command line: parses arguments, runs one command, returns the process exit code.
// main() is only a call to run_cli, so everything here is tested in-process. Nothing escapes
// run_cli: an exception from anywhere below becomes one line and exit code 70.
#pragma once

#include "host/dirs.hpp"
#include "host/host_facts.hpp"

#include <filesystem>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace kvmrun::cli {

struct CliEnvironment {
  host::EnvLookup getenv;
  uid_t uid = 0;
  std::filesystem::path working_dir; // where kvmrun.toml is looked for
  bool stderr_is_terminal = false;   // progress bars only on a terminal
  std::filesystem::path self;        // this kvmrun binary, which runs a lab's switches
  std::istream* in = nullptr;        // standard input (`exec` passes it to the guest command)
  bool stdin_is_terminal = true;     // ... only when it is not a terminal
  std::size_t stdout_columns = 0;    // the terminal's width; 0 when stdout is not a terminal
};

// The host paths preflight looks at, with KVMRUN_QEMU and PATH from the environment.
[[nodiscard]] host::HostPaths host_paths(const CliEnvironment& env);

// `args` excludes the program name.
[[nodiscard]] int run_cli(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err, const CliEnvironment& env) noexcept;

} // namespace kvmrun::cli
