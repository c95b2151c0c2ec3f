// Where kvmrun keeps things on the host. Pure: computed from environment values passed in, so
// tests can point every directory at a temporary tree.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>
#include <sys/types.h>

namespace kvmrun::host {

struct Dirs {
  std::filesystem::path cache;    // verified base images and source builds ($KVMRUN_CACHE_DIR)
  std::filesystem::path state;    // instance disks and seeds ($KVMRUN_STATE_DIR)
  std::filesystem::path runtime;  // QMP/agent sockets and pid locks, 0700 ($KVMRUN_RUNTIME_DIR)
  std::filesystem::path evidence; // runs' and benches' records ($KVMRUN_EVIDENCE_DIR, else state)
};

// `getenv` returns nullptr for an unset variable. Precedence per directory: the KVMRUN_*
// variable, then the XDG base-directory variable, then the XDG default under $HOME (or /tmp
// for the runtime directory, suffixed with the uid). Root is a system's kvmrun: the KVMRUN_*
// variable, else /var/cache/kvmrun, /var/lib/kvmrun and /run/kvmrun (QEMU, which never runs as
// root, must pass through them: see instance/qemu_user.hpp; root's home is closed to it).
// Evidence lives beside the state unless $KVMRUN_EVIDENCE_DIR puts it elsewhere (a volume that
// outlives a container whose disks are scratch, say).
using EnvLookup = std::function<const char*(const char*)>;
[[nodiscard]] Dirs default_dirs(const EnvLookup& getenv, uid_t uid);

} // namespace kvmrun::host
