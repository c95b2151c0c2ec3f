// The QEMU command line of one instance: a pure function of the validated instance, its paths
// and the host's choices (accelerator, firmware). Nothing here touches the file system, so the
// argv `up --dry-run` prints is exactly the argv `up` runs, and golden tests pin it.
#pragma once

#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kvmrun::instance {

// QEMU's seccomp sandbox, always on: no obsolete system calls, no set*uid/set*gid (kvmrun, not
// QEMU, would change users), no fork or exec, no scheduler or affinity changes.
inline constexpr std::string_view qemu_sandbox =
    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

// The listening sockets kvmrun creates and QEMU inherits, by descriptor number. QEMU never
// creates a socket itself, so a client can connect the moment QEMU starts, and the sockets stay
// usable after the kvmrun that started QEMU has gone.
inline constexpr int qmp_fd = 3;
inline constexpr int agent_fd = 4;
inline constexpr int serial_fd = 5;
inline constexpr int lock_fd = 6;   // the instance lock, held for as long as QEMU lives
inline constexpr int qmp_up_fd = 7; // the second monitor, `kvmrun up`'s (see InstancePaths)
// A clone: its template's saved state, read-only, which `migrate-incoming fd:8` loads.
inline constexpr int state_fd = 8;
// Root mode: attachment i's tap device (on a bridged lab network) is descriptor tap_fd + i.
inline constexpr int tap_fd = 10;

struct QemuLaunch {
  std::string qemu = "qemu-system-x86_64";
  std::string lab;
  lab::InstanceSpec instance;
  lab::ImageSpec image;
  InstancePaths paths;
  bool kvm = false;                 // else TCG
  std::filesystem::path ovmf_code;  // for images with firmware = "uefi"
  std::vector<std::string> bridged; // lab networks on a host bridge (a tap each, not a switch)
  // A clone: QEMU waits (`-incoming defer`) for its template's state instead of booting.
  bool incoming = false;
};

// Block node names, for QMP (query-block, snapshots).
inline constexpr const char* root_node = "disk0";
[[nodiscard]] std::string extra_disk_node(std::size_t index); // "data0", "data1", ...
// Every writable disk's node, root first: what an internal snapshot covers.
[[nodiscard]] std::vector<std::string> disk_nodes(const lab::InstanceSpec& instance);

// QEMU's `-name` value for an instance, "guest=<lab>/<instance>,debug-threads=on": how a later
// kvmrun recognises the instance's QEMU among processes (names_instance).
[[nodiscard]] std::string name_option(std::string_view lab, std::string_view instance);
// Whether a /proc/<pid>/cmdline (arguments separated by NUL bytes) has exactly that `-name`.
[[nodiscard]] bool names_instance(std::string_view cmdline, std::string_view lab,
                                  std::string_view instance);

[[nodiscard]] std::vector<std::string> qemu_argv(const QemuLaunch& launch);

// QEMU's form of a forward's host side, "tcp:127.0.0.1:2222" (what hostfwd_remove takes), and
// of the whole rule, "tcp:127.0.0.1:2222-:22" (hostfwd= and hostfwd_add).
[[nodiscard]] std::string hostfwd_source(const lab::PortForward& forward);
[[nodiscard]] std::string hostfwd_rule(const lab::PortForward& forward);

// The -netdev user option: hostfwd=tcp:127.0.0.1:2222-:22 per forward.
[[nodiscard]] std::string user_netdev(const std::vector<lab::PortForward>& forwards);

} // namespace kvmrun::instance
