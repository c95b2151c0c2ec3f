// Starting a guest by hand as a user would, from the argv kvmrun recorded for it (argv.json):
// shared by the benchmarks that compare kvmrun with the same guest started without it.
#pragma once

#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "host/dirs.hpp"

#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace kvmrun::bench {

[[noreturn]] inline void fail(const std::string& what) { throw std::runtime_error(what); }

inline std::string tail(const std::string& text, std::size_t n = 2000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

inline CommandOutput must_run(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout = std::chrono::minutes(15)) {
  auto r = run_command(argv, CommandOptions{timeout, 16U << 20U});
  if (!r)
    fail(argv.front() + ": " + r.error().describe());
  if (!r->success())
    fail(argv.front() + " " + (argv.size() > 1 ? argv[1] : "") + " failed:\n" + tail(r->out) +
         tail(r->err));
  return *r;
}

// A guest recipe's output directory, built (and cached) by the recipe itself, in the cache
// kvmrun itself would use here.
inline std::filesystem::path build_guest(const std::string& recipe) {
  const auto cache =
      host::default_dirs([](const char* name) { return std::getenv(name); }, ::getuid()).cache;
  const auto built =
      must_run({KVMRUN_SOURCE_DIR "/images/recipes/" + recipe + "/build", cache.string()});
  return built.out.substr(0, built.out.find('\n'));
}

// What a user starting the guest by hand runs: qemu-img for the disks, then QEMU.
struct ByHand {
  std::vector<std::vector<std::string>> disks; // qemu-img create commands
  std::vector<std::filesystem::path> created;  // what they create (removed before each run)
  std::vector<std::string> qemu;
};

inline std::string option_value(std::string_view option, std::string_view key) {
  const auto at = option.find(std::string(key) + "=");
  if (at == std::string_view::npos || (at != 0 && option[at - 1] != ','))
    return {};
  const auto from = at + key.size() + 1;
  return std::string(option.substr(from, option.find(',', from) - from));
}

// kvmrun's argv for the instance, rewritten as by hand: QMP and agent sockets by path, the
// serial console on stdout, the name changed, every file of the instance moved into `dir`
// (qcow2 disks recreated with qemu-img from their backing file and size; others copied).
inline ByHand by_hand(const std::filesystem::path& instance_state,
                      const std::filesystem::path& dir) {
  const auto text = read_file(instance_state / "argv.json");
  if (!text)
    fail(text.error().describe());
  const auto doc = boost::json::parse(*text);
  std::vector<std::string> argv;
  for (const auto& v : doc.as_array())
    argv.emplace_back(v.as_string());

  std::string serial_id;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "-serial" && argv[i + 1].starts_with("chardev:"))
      serial_id = argv[i + 1].substr(8);

  ByHand hand;
  const std::string prefix = instance_state.string() + "/";
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    const std::string previous = i > 0 ? argv[i - 1] : "";
    if (previous == "-name") {
      arg = "guest=by-hand";
    } else if (previous == "-chardev" && !option_value(arg, "fd").empty()) {
      const auto id = option_value(arg, "id");
      arg = id == serial_id ? "stdio,id=" + id + ",signal=off"
                            : "socket,id=" + id + ",path=" + (dir / (id + ".sock")).string() +
                                  ",server=on,wait=off";
    } else if (const auto file = option_value(arg, "filename"); file.starts_with(prefix)) {
      const std::filesystem::path mine = dir / std::filesystem::path(file).filename();
      arg.replace(arg.find(file), file.size(), mine.string());
      if (std::find(hand.created.begin(), hand.created.end(), mine) != hand.created.end())
        continue;
      if (file.ends_with(".qcow2")) {
        const auto info =
            boost::json::parse(must_run({"qemu-img", "info", "-U", "--output=json", file}).out)
                .as_object();
        std::vector<std::string> create{"qemu-img", "create", "-q", "-f", "qcow2"};
        if (const auto* backing = info.if_contains("full-backing-filename"))
          create.insert(create.end(),
                        {"-b", std::string(backing->as_string()), "-F",
                         std::string(info.at("backing-filename-format").as_string())});
        create.insert(create.end(),
                      {mine.string(), std::to_string(info.at("virtual-size").to_number<long>())});
        hand.disks.push_back(std::move(create));
      } else {
        std::filesystem::copy_file(file, mine, std::filesystem::copy_options::overwrite_existing);
      }
      hand.created.push_back(mine);
    }
    hand.qemu.push_back(arg);
  }
  for (const auto& arg : hand.qemu)
    if (arg.find(prefix) != std::string::npos || arg.find(",fd=") != std::string::npos)
      fail("by-hand argv still refers to kvmrun's instance: " + arg);
  return hand;
}

} // namespace kvmrun::bench
