// Who QEMU runs as, and the files it is handed.
//
// kvmrun run by a user starts QEMU (and a lab network's switch) as that user. kvmrun run as root
// never gives them root: they run as the user KVMRUN_QEMU_USER names ("nobody" when unset), in
// that user's group plus, when QEMU uses KVM, the group of /dev/kvm. The ids are set in the
// child before exec (QEMU's own -runas changes them after its seccomp sandbox has forbidden
// it: elevateprivileges=deny kills it with SIGSYS).
//
// QEMU opens some files by path, so before it starts kvmrun hands them over:
//   - the instance's own files and directories (disks, seed, firmware variables, console log,
//     its state and runtime directories, a network's switch directory) become the user's,
//     with the modes they had (0600 files, 0700 directories);
//   - a file it only reads (base images and templates down the backing chain, kernel, initrd)
//     that it cannot read is given to its group, read-only, when the file is kvmrun's (under
//     its cache, state or runtime directory);
//   - a directory on the way that it cannot pass through is opened for passing only (g+x,
//     o+x: no listing) when the directory is kvmrun's.
// Anything else in the way is an error naming the directory, the user and what to do.
#pragma once

#include "base/result.hpp"
#include "base/subprocess.hpp"
#include "host/dirs.hpp"
#include "instance/qemu_argv.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace kvmrun::instance {

inline constexpr const char* default_qemu_user = "nobody";

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};
// The entry for `name` in the text of an /etc/passwd (name:password:uid:gid:...); malformed
// lines are skipped.
[[nodiscard]] std::optional<PasswdEntry> find_user(std::string_view passwd, std::string_view name);

struct RunAs {
  std::string user;
  Credentials ids;
};

// Nothing when kvmrun is not root (`uid`): QEMU runs as kvmrun's user. Otherwise the user
// KVMRUN_QEMU_USER names (or "nobody"), looked up in `passwd`, with `kvm_group` added (the
// group of /dev/kvm when QEMU uses KVM). ErrorCode::host for a user that is not there or is
// root.
[[nodiscard]] Result<std::optional<RunAs>>
qemu_run_as(const host::EnvLookup& getenv, uid_t uid, std::optional<gid_t> kvm_group,
            const std::filesystem::path& passwd = "/etc/passwd");

// The group that owns /dev/kvm, if it is there.
[[nodiscard]] std::optional<gid_t> kvm_device_group();

struct Handover {
  std::vector<std::filesystem::path> owned; // become the user's (those that exist)
  std::vector<std::filesystem::path> read;  // opened read-only by path
};

// What QEMU opens by path in `launch`: the instance's files and directories, and what it reads
// below its disks (their backing chains, read from the qcow2 headers), its kernel and initrd.
[[nodiscard]] Result<Handover> qemu_handover(const QemuLaunch& launch);

// Hands `files` to `as` as the header says; `kvmrun_dirs` are the directories kvmrun may open.
// ErrorCode::host names what is closed to the user, ErrorCode::io a change that failed.
[[nodiscard]] Status hand_over(const RunAs& as, const Handover& files,
                               const host::Dirs& kvmrun_dirs);

} // namespace kvmrun::instance
