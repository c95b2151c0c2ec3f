// The kvmrun binary driven as users drive it, with its cache, state and runtime directories in a
// temporary tree (the guest images come from the shared cache where the recipes keep them).
#pragma once

#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "host/dirs.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/kvmrun_binary.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::testing {

// The cache kvmrun itself would use here (KVMRUN_CACHE_DIR, XDG_CACHE_HOME, ~/.cache).
inline std::filesystem::path shared_cache_dir() {
  return host::default_dirs([](const char* name) { return std::getenv(name); }, ::getuid()).cache;
}

// Builds a guest recipe (cached) and returns its output directory.
inline std::filesystem::path build_guest(const std::string& recipe) {
  const auto built = run_command(
      {KVMRUN_SOURCE_DIR "/images/recipes/" + recipe + "/build", shared_cache_dir().string()},
      CommandOptions{std::chrono::minutes(15), 1U << 20U});
  EXPECT_TRUE(built.ok() && built->success())
      << (built.ok() ? built->err : built.error().describe());
  if (!built.ok() || !built->success())
    return {};
  return built->out.substr(0, built->out.find('\n'));
}

// The lab-definition lines of the `tiny` guest's image, built first if it is not cached.
inline std::string tiny_image_section() {
  const std::string guest = build_guest("tiny").string();
  return "[images.tiny]\nurl = \"file://" + guest + "/tiny.qcow2\"\nchecksum_url = \"file://" +
         guest + "/SHA256SUMS\"\nkernel = \"" + guest + "/vmlinuz\"\ninitrd = \"" + guest +
         "/initrd.img\"\ncmdline = \"console=ttyS0\"\ninterface_names = \"kvmrun\"\n";
}

class Lab {
public:
  explicit Lab(const std::string& toml) {
    write_file(m_dir / "lab.toml", toml);
    std::filesystem::create_directories(m_dir / "cache");
  }
  [[nodiscard]] std::filesystem::path state() const { return m_dir / "state"; }
  [[nodiscard]] std::filesystem::path runtime() const { return m_dir / "run"; }
  [[nodiscard]] std::filesystem::path config() const { return m_dir / "lab.toml"; }
  [[nodiscard]] std::filesystem::path cache() const { return m_dir / "cache"; }

  [[nodiscard]] std::vector<std::string> argv(const std::vector<std::string>& args) const {
    return kvmrun_argv(with_config(args), env());
  }
  [[nodiscard]] CommandOutput
  run(const std::vector<std::string>& args,
      std::chrono::milliseconds timeout = std::chrono::minutes(15)) const {
    return run_with({}, args, timeout);
  }
  // The same with more environment ("NAME=value"), which wins over the lab's own.
  [[nodiscard]] CommandOutput
  run_with(const std::vector<std::string>& extra_env, const std::vector<std::string>& args,
           std::chrono::milliseconds timeout = std::chrono::minutes(15)) const {
    auto vars = env();
    vars.insert(vars.end(), extra_env.begin(), extra_env.end());
    return run_kvmrun(with_config(args), vars, timeout);
  }

private:
  [[nodiscard]] std::vector<std::string> env() const {
    return {"KVMRUN_CACHE_DIR=" + (m_dir / "cache").string(),
            "KVMRUN_STATE_DIR=" + state().string(), "KVMRUN_RUNTIME_DIR=" + runtime().string()};
  }
  [[nodiscard]] std::vector<std::string> with_config(std::vector<std::string> args) const {
    args.insert(args.begin(), "--config=" + (m_dir / "lab.toml").string());
    return args;
  }

  TempDir m_dir;
};

// A shell script in an instance through `kvmrun exec`, expected to succeed; its output.
inline std::string in_guest(const Lab& lab, const std::string& instance,
                            const std::string& script) {
  const auto r = lab.run({"exec", instance, "--", "/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << script << "\n" << r.err;
  return r.out;
}

// What the host gets from http://127.0.0.1:PORT/PATH (empty when nothing answers).
inline std::string http_get(std::uint16_t port, const std::string& path) {
  const auto r = run_command(
      {"python3", "-c",
       "import sys, urllib.request\ntry:\n print(urllib.request.urlopen('http://127.0.0.1:" +
           std::to_string(port) + path +
           "', timeout=5).read().decode(), end='')\nexcept Exception as e:\n sys.exit(1)"},
      CommandOptions{std::chrono::seconds(20), 1U << 20U});
  return r && r->success() ? r->out : std::string();
}

// Whether `pid` is a live process (a zombie waiting for its parent counts as gone).
inline bool alive(pid_t pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat)
    return false;
  const auto close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] != 'Z';
}

inline pid_t pid_from(const std::string& output, const std::string& instance) {
  const std::string key = instance + ": QEMU pid ";
  const auto at = output.find(key);
  return at == std::string::npos ? -1 : std::stoi(output.substr(at + key.size()));
}

// A lab of one tiny instance, tiny-1 (1 CPU, 256 MiB), with `timeouts` as its timeouts table.
inline std::string one_tiny_lab(const std::string& lab_name,
                                const std::string& timeouts = "shutdown = \"3s\"") {
  return "[lab]\nname = \"" + lab_name + "\"\n" + tiny_image_section() +
         "[instances.tiny-1]\nimage = \"tiny\"\ncpus = 1\nmemory = \"256MiB\"\ntimeouts = { " +
         timeouts + " }\n";
}

// The pids of processes whose command line names this lab's instances (QEMUs left behind).
inline std::vector<pid_t> qemus_of(const std::string& lab) {
  std::vector<pid_t> pids;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const auto cmdline = read_file(e.path() / "cmdline", 1U << 20U);
    if (cmdline && cmdline->find("guest=" + lab + "/") != std::string::npos &&
        alive(std::stoi(name)))
      pids.push_back(std::stoi(name));
  }
  return pids;
}

// sha256 of every file under `dir`, by path: whether a cache or a base changed.
inline std::string digests_of(const std::filesystem::path& dir) {
  const auto r = run_command(
      {"/bin/sh", "-c", "cd '" + dir.string() + "' && find . -type f | sort | xargs sha256sum"},
      CommandOptions{std::chrono::minutes(2), 1U << 20U});
  return r && r->success() ? r->out : std::string("(unreadable)");
}

// Nothing left in the lab's runtime directory (no socket, lock or pid record).
inline bool runtime_empty(const Lab& lab) {
  std::error_code ec;
  return !std::filesystem::exists(lab.runtime(), ec) ||
         std::filesystem::recursive_directory_iterator(lab.runtime(), ec) ==
             std::filesystem::recursive_directory_iterator();
}

// `qemu-img check` finds the image clean.
inline bool qemu_img_clean(const std::filesystem::path& disk) {
  const auto r = run_command({"qemu-img", "check", "-q", disk.string()},
                             CommandOptions{std::chrono::minutes(1), 1U << 20U});
  return r && r->success();
}

// `argv` as one line for /bin/sh, each word single-quoted.
inline std::string shell_words(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    line += " '";
    for (const char c : a)
      line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += "'";
  }
  return line;
}

// A TCP port on 127.0.0.1 that nothing listens on right now.
inline int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

} // namespace kvmrun::testing
