// The kvmrun binary run as users run it, `env NAME=VALUE... kvmrun ARGS...`, its output captured.
// Header-only: each test target defines KVMRUN_BINARY (see tests/CMakeLists.txt).
#pragma once

#include "base/subprocess.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace kvmrun::testing {

// `env` entries are NAME=VALUE; without any, the binary runs directly.
inline std::vector<std::string> kvmrun_argv(const std::vector<std::string>& args,
                                            const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv;
  if (!env.empty()) {
    argv.emplace_back("env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  argv.emplace_back(KVMRUN_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

inline CommandOutput run_kvmrun(const std::vector<std::string>& args,
                                const std::vector<std::string>& env = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto r = run_command(kvmrun_argv(args, env), CommandOptions{timeout, 16U << 20U});
  EXPECT_TRUE(r.ok()) << (r.ok() ? std::string() : r.error().describe());
  return r.ok() ? *r : CommandOutput{};
}

} // namespace kvmrun::testing
