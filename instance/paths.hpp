// Where one instance's files live. State (disks, seed, logs) survives reboots of the host;
// runtime (sockets, the lock QEMU holds) lives in a 0700 directory that may be a tmpfs.
//
//   <state>/<lab>/<instance>/   disk.qcow2, seed.iso, disk-<name>.qcow2, efivars.fd,
//                               serial.log, qemu.log, provenance.json, argv.json,
//                               ssh_known_hosts, clone-pending
//   <runtime>/<lab>/<instance>/ qmp.sock, qmp-up.sock, qga.sock, serial.sock, lock, up.pid,
//                               saving.pid, save.sock,
//                               net-<network>.sock (one per lab network it is on)
#pragma once

#include "base/result.hpp"
#include "host/dirs.hpp"
#include "lab/lab_spec.hpp"
#include "network/segment_paths.hpp"

#include <array>
#include <filesystem>
#include <string_view>

namespace kvmrun::instance {

struct InstancePaths {
  std::filesystem::path state;
  std::filesystem::path runtime;

  [[nodiscard]] std::filesystem::path disk() const { return state / "disk.qcow2"; }
  [[nodiscard]] std::filesystem::path seed() const { return state / "seed.iso"; }
  [[nodiscard]] std::filesystem::path extra_disk(std::string_view name) const {
    return state / ("disk-" + std::string(name) + ".qcow2");
  }
  [[nodiscard]] std::filesystem::path efi_vars() const { return state / "efivars.fd"; }
  [[nodiscard]] std::filesystem::path serial_log() const { return state / "serial.log"; }
  [[nodiscard]] std::filesystem::path qemu_log() const { return state / "qemu.log"; }
  [[nodiscard]] std::filesystem::path provenance() const { return state / "provenance.json"; }
  [[nodiscard]] std::filesystem::path argv() const { return state / "argv.json"; }
  // The guest's SSH host keys as kvmrun read them (instance/host_keys).
  [[nodiscard]] std::filesystem::path known_hosts() const { return state / "ssh_known_hosts"; }
  // A clone's overlay made but not yet run: its next `up` restores the template's state (once the
  // restored guest has run, its disk has moved on from that state, and it boots instead).
  [[nodiscard]] std::filesystem::path clone_pending() const { return state / "clone-pending"; }
  // QEMU serves one client per socket, so it has two monitors: qmp.sock for the short commands
  // (status, check, snapshot, down) and qmp-up.sock, which `kvmrun up` holds while it waits on
  // the gates. The agent and the serial console have one client each: `up`'s gates.
  [[nodiscard]] std::filesystem::path qmp_socket() const { return runtime / "qmp.sock"; }
  [[nodiscard]] std::filesystem::path qmp_up_socket() const { return runtime / "qmp-up.sock"; }
  [[nodiscard]] std::filesystem::path agent_socket() const { return runtime / "qga.sock"; }
  [[nodiscard]] std::filesystem::path serial_socket() const { return runtime / "serial.sock"; }
  // Forwards added while it runs (`kvmrun forward add`); gone with the runtime files.
  [[nodiscard]] std::filesystem::path runtime_forwards() const { return runtime / "forwards.json"; }
  [[nodiscard]] std::array<std::filesystem::path, 4> sockets() const {
    return {qmp_socket(), qmp_up_socket(), agent_socket(), serial_socket()};
  }
  [[nodiscard]] std::filesystem::path lock() const { return runtime / "lock"; }
  // The kvmrun whose `up` is bringing the instance up, from taking its lock until its gates
  // have passed or failed (instance/lock.hpp).
  [[nodiscard]] std::filesystem::path bringing_up() const { return runtime / "up.pid"; }
  // The kvmrun saving the instance as a template, from pausing the guest until it runs on or
  // stops (templates/save.hpp): a later command resumes a guest whose saver is gone.
  [[nodiscard]] std::filesystem::path saving() const { return runtime / "saving.pid"; }
  // Where that save takes QEMU's migration stream.
  [[nodiscard]] std::filesystem::path save_socket() const { return runtime / "save.sock"; }
  // On a lab network: QEMU's end, and the switch's socket it sends to (network/segment_paths).
  [[nodiscard]] std::filesystem::path lab_runtime() const { return runtime.parent_path(); }
  [[nodiscard]] std::filesystem::path segment_socket(std::string_view network) const {
    return network::port_socket(runtime, network);
  }
  [[nodiscard]] std::filesystem::path switch_socket(std::string_view network) const {
    return network::switch_paths(lab_runtime(), network).socket();
  }
};

[[nodiscard]] InstancePaths instance_paths(const host::Dirs& dirs, std::string_view lab,
                                           std::string_view instance);

// Every instance's sockets fit in a sockaddr_un; the error names the instance, the path and a
// shorter runtime directory to use instead.
[[nodiscard]] Status check_socket_paths(const host::Dirs& dirs, const lab::LabSpec& lab);

} // namespace kvmrun::instance
