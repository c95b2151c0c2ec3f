// kvmrun's command line run in-process, as main() runs it, with an environment of its own.
// Header-only: the support library does not link the cli library. The switch a lab network
// needs runs as the real kvmrun binary (KVMRUN_BINARY), not as the test program.
#pragma once

#include "cli/cli.hpp"

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace kvmrun::testing {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// `env` is the whole environment kvmrun sees (unset names are absent).
inline CliRun run_cli_in_process(const std::vector<std::string>& args,
                                 const std::map<std::string, std::string>& env, uid_t uid,
                                 const std::filesystem::path& working_dir) {
  std::ostringstream out, err;
  const cli::CliEnvironment cli_env{[&env](const char* name) -> const char* {
                                      const auto it = env.find(name);
                                      return it == env.end() ? nullptr : it->second.c_str();
                                    },
                                    uid,
                                    working_dir,
                                    false,
                                    KVMRUN_BINARY,
                                    nullptr,
                                    true};
  const int code = cli::run_cli(args, out, err, cli_env);
  return {code, out.str(), err.str()};
}

} // namespace kvmrun::testing
