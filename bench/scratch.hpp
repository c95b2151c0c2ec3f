// A temporary directory per benchmark file, made once and shared by its benchmarks.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace kvmrun::bench {

inline std::filesystem::path make_scratch_dir(const std::string& tag) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("kvmrun-bench-" + tag + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  return pattern;
}

} // namespace kvmrun::bench
