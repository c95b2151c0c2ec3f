// Typed QMP commands the runner needs, as blocking calls with a deadline over a QmpClient
// (they run its event loop). Internal snapshots use QEMU's snapshot-save/-load/-delete jobs
// (QEMU 6.0+) and wait for the job to conclude through JOB_STATUS_CHANGE events.
#pragma once

#include "base/result.hpp"
#include "qmp/qmp_client.hpp"

#include <string>
#include <vector>

namespace kvmrun::qmp {

struct VmStatus {
  std::string status; // "running", "paused", "prelaunch", "shutdown", "guest-panicked", ...
  bool running = false;
};

[[nodiscard]] Result<VmStatus> query_status(QmpClient& qmp, Deadline deadline);
[[nodiscard]] Status cont(QmpClient& qmp, Deadline deadline);
[[nodiscard]] Status stop(QmpClient& qmp, Deadline deadline);
[[nodiscard]] Status system_powerdown(QmpClient& qmp, Deadline deadline); // ACPI power button
[[nodiscard]] Status system_reset(QmpClient& qmp, Deadline deadline);
// Asks QEMU to exit. A connection that closes before the reply counts as success: QEMU is
// going away, which was the point; the caller confirms by reaping the process.
[[nodiscard]] Status quit(QmpClient& qmp, Deadline deadline);
[[nodiscard]] Result<boost::json::array> query_block(QmpClient& qmp, Deadline deadline);
// query-blockstats: each block backend's root node and its I/O counters.
struct BlockStats {
  std::string node; // node-name, such as "disk0"
  std::uint64_t read_bytes = 0, write_bytes = 0, read_operations = 0, write_operations = 0;
};
[[nodiscard]] Result<std::vector<BlockStats>> query_blockstats(QmpClient& qmp, Deadline deadline);
[[nodiscard]] Result<boost::json::array> query_cpus_fast(QmpClient& qmp, Deadline deadline);
[[nodiscard]] Result<std::string> human_monitor_command(QmpClient& qmp, const std::string& line,
                                                        Deadline deadline);

struct SnapshotInfo {
  std::string name;
  std::uint64_t vm_state_size = 0;
  double date = 0; // seconds since 1970
};

// Saves, loads or deletes the internal snapshot `tag` of `devices` (block node names); the
// VM state goes to / comes from `vmstate_node`. ErrorCode::qemu with QEMU's words on failure.
[[nodiscard]] Status snapshot_save(QmpClient& qmp, const std::string& tag,
                                   const std::string& vmstate_node,
                                   const std::vector<std::string>& devices, Deadline deadline);
[[nodiscard]] Status snapshot_load(QmpClient& qmp, const std::string& tag,
                                   const std::string& vmstate_node,
                                   const std::vector<std::string>& devices, Deadline deadline);
[[nodiscard]] Status snapshot_delete(QmpClient& qmp, const std::string& tag,
                                     const std::vector<std::string>& devices, Deadline deadline);
// The internal snapshots of block node `node` (from query-named-block-nodes).
[[nodiscard]] Result<std::vector<SnapshotInfo>>
list_snapshots(QmpClient& qmp, const std::string& node, Deadline deadline);
// Whether block node `node` has an internal snapshot called `tag`.
[[nodiscard]] Result<bool> has_snapshot(QmpClient& qmp, const std::string& node,
                                        const std::string& tag, Deadline deadline);

// Migration (docs/devel/migration): how a template's RAM and device state is saved and restored.
struct MigrationStats {
  std::string status;                  // "completed", "failed", ...
  std::uint64_t transferred_bytes = 0; // ram.transferred
  std::uint64_t total_ms = 0;          // total-time (the source's)
  std::uint64_t ram_total_bytes = 0;   // ram.total: the guest's RAM
  std::string error;                   // error-desc, when it failed
};
// Turns on MIGRATION events and lifts the bandwidth cap (QEMU's default is 128 MiB/s, for live
// migration across a network; a save to a local file or a restore from one is not throttled).
[[nodiscard]] Status prepare_migration(QmpClient& qmp, Deadline deadline);
// Sends the VM's state to `uri` ("unix:/path") and waits for the MIGRATION event that ends it;
// a "failed" or "cancelled" one is ErrorCode::qemu with QEMU's error-desc.
[[nodiscard]] Result<MigrationStats> migrate(QmpClient& qmp, const std::string& uri,
                                             Deadline deadline);
// Loads the state from `uri` ("fd:8") into a QEMU started with `-incoming defer`, and waits for
// the MIGRATION event that ends it, as migrate() does.
[[nodiscard]] Result<MigrationStats> migrate_incoming(QmpClient& qmp, const std::string& uri,
                                                      Deadline deadline);

} // namespace kvmrun::qmp
