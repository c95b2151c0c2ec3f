// The guests the benchmarks bring up, as lab-definition text, and `kvmrun bench cold` run on a
// lab, read back as its summary.json: shared by the scaling and side-by-side benchmarks.
#pragma once

#include "base/file_io.hpp"
#include "base/subprocess.hpp"

#include "bench/by_hand.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::bench {

// The [images.tiny] section of the tiny guest (busybox initramfs on Debian's kernel; its own
// init applies the NoCloud seed), built first if it is not cached.
inline std::string tiny_image_section() {
  static const std::string guest = build_guest("tiny").string();
  return "[images.tiny]\nurl = \"file://" + guest + "/tiny.qcow2\"\nchecksum_url = \"file://" +
         guest + "/SHA256SUMS\"\nkernel = \"" + guest + "/vmlinuz\"\ninitrd = \"" + guest +
         "/initrd.img\"\ncmdline = \"console=ttyS0\"\ninterface_names = \"kvmrun\"\n";
}

// The [images.debian-12] section of the debian-12 guest (cloud-init, qemu-guest-agent, sshd),
// as the built-in default lab has it; built first if it is not cached (the recipe needs root).
inline std::string debian12_image_section() {
  static const std::string guest = build_guest("debian-12").string();
  return "[images.debian-12]\nurl = \"file://" + guest +
         "/debian-12.qcow2\"\nchecksum_url = " + "\"file://" + guest +
         "/SHA512SUMS\"\ninterface_names = \"kvmrun\"\n";
}

// `kvmrun bench cold --runs N` on `lab` (written to dir/lab.toml, state and runtime under dir;
// the image cache is the user's, which bench cold never empties); its summary.json.
inline boost::json::object bench_cold(const std::filesystem::path& dir, const std::string& lab,
                                      int runs) {
  std::filesystem::create_directories(dir);
  if (auto w = write_file_atomic(dir / "lab.toml", lab); !w)
    fail(w.error().describe());
  ::setenv("KVMRUN_STATE_DIR", (dir / "state").c_str(), 1);
  ::setenv("KVMRUN_RUNTIME_DIR", (dir / "run").c_str(), 1);
  const auto out = must_run({KVMRUN_BINARY, "--config=" + (dir / "lab.toml").string(), "bench",
                             "cold", "--runs", std::to_string(runs)},
                            std::chrono::minutes(60))
                       .out;
  const std::string key = "artefacts: ";
  const auto at = out.find(key);
  if (at == std::string::npos)
    fail("kvmrun bench cold printed no artefacts directory:\n" + tail(out));
  const auto from = at + key.size();
  const std::filesystem::path artefacts = out.substr(from, out.find(' ', from) - from);
  const auto summary = read_file(artefacts / "summary.json");
  if (!summary)
    fail(summary.error().describe());
  return boost::json::parse(*summary).as_object();
}

// A lab brought up through the kvmrun binary for a benchmark (state, runtime and cache under
// `dir`; `up` is the command that brings it up) and taken down with its disks when it goes.
class LabRun {
public:
  LabRun(std::filesystem::path dir, const std::string& lab,
         const std::vector<std::string>& up = {"up"})
      : m_dir(std::move(dir)) {
    std::filesystem::create_directories(m_dir);
    if (auto s = write_file_atomic(m_dir / "lab.toml", lab); !s)
      fail(s.error().describe());
    std::string out;
    if (!kvmrun(up, std::chrono::minutes(10), &out))
      fail("kvmrun up of the benchmark lab failed:\n" + tail(out));
  }
  ~LabRun() { (void)kvmrun({"down", "--purge-disks"}, std::chrono::minutes(2)); }
  LabRun(const LabRun&) = delete;
  LabRun& operator=(const LabRun&) = delete;

  // Stops the guests and keeps their disks, seeds and recorded argv (for a start by hand).
  void stop() { (void)kvmrun({"down"}, std::chrono::minutes(2)); }
  [[nodiscard]] std::filesystem::path instance_state(const std::string& lab,
                                                     const std::string& name) const {
    return m_dir / "state" / lab / name;
  }
  // `kvmrun ARGS...` on this lab; its output and errors in `out`.
  bool kvmrun(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
              std::string* out = nullptr) const {
    std::vector<std::string> argv{"env",
                                  "KVMRUN_STATE_DIR=" + (m_dir / "state").string(),
                                  "KVMRUN_RUNTIME_DIR=" + (m_dir / "run").string(),
                                  "KVMRUN_CACHE_DIR=" + (m_dir / "cache").string(),
                                  KVMRUN_BINARY,
                                  "--config=" + (m_dir / "lab.toml").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, CommandOptions{timeout, 1U << 20U});
    if (out != nullptr && r)
      *out = r->out + r->err;
    return r && r->success();
  }
  // A shell script in an instance (kvmrun exec); its output, or a failure naming it.
  std::string exec(const std::string& instance, const std::string& script,
                   std::chrono::milliseconds timeout = std::chrono::minutes(5)) const {
    std::string out;
    if (!kvmrun({"exec", instance, "--", "/bin/sh", "-c", script}, timeout, &out))
      fail("`" + script + "` failed in " + instance + ": " + tail(out));
    return out;
  }

private:
  std::filesystem::path m_dir;
};

// The median of a spread in summary.json ({"min":..,"median":..,"max":..}).
inline double median_of(const boost::json::value& spread) {
  return spread.at("median").to_number<double>();
}

} // namespace kvmrun::bench
