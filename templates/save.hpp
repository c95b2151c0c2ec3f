// `kvmrun template save INSTANCE NAME`: a ready instance becomes a template (record.hpp).
//
// The guest is paused (QMP stop) and its RAM and device state sent by QMP `migrate` to a unix
// socket kvmrun listens on, which writes the stream to the template's state file and hashes it
// as it arrives (so the file is complete exactly when QEMU's MIGRATION event says
// "completed": no helper process that QEMU could kill mid-write, as `exec:` would). The paused
// guest's disks are then copied (hashed as they are copied), the record written, and the
// finished directory renamed into place. The instance is then stopped, or with `resume` runs on
// from where it paused; either way its own disks are untouched.
#pragma once

#include "base/result.hpp"
#include "instance/paths.hpp"
#include "lab/lab_spec.hpp"
#include "templates/record.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace kvmrun::templates {

struct SaveRequest {
  std::string name; // the template's
  std::string lab;
  const lab::InstanceSpec* instance = nullptr;
  const lab::ImageSpec* image = nullptr;
  instance::InstancePaths paths;
  std::string seed_instance_id; // what the lab's seed gives it now (must be what it runs)
  std::filesystem::path root;   // templates_root(cache)
  bool resume = false;
};

struct SaveResult {
  TemplateRecord record;
  std::filesystem::path dir;
  std::chrono::milliseconds pause_to_saved{0}; // stop until the state file was complete
  std::chrono::milliseconds disks_copied{0};
  std::chrono::milliseconds total{0};
};

// `progress` hears each step ("pausing", "saving RAM and device state", ...). Refuses (nothing
// changed) an instance that is not running, not provisioned from the lab's current seed, a
// clone, without a vmgenid device, or whose agent does not answer; and a name already taken.
// On a failure after the pause the guest is resumed and the partial template removed.
[[nodiscard]] Result<SaveResult>
save_template(const SaveRequest& request, const std::function<void(const std::string&)>& progress);

// A save its kvmrun did not finish (killed while the guest was paused): the pause is recorded
// in the instance's saving.pid, so whoever finds the instance next (check, up) resumes the
// guest, and partial templates of kvmruns that are gone are removed from `root`. True when a
// guest was resumed; ErrorCode::busy naming the saver while it still runs.
[[nodiscard]] Result<bool> undo_interrupted_save(const instance::InstancePaths& paths,
                                                 std::string_view instance,
                                                 const std::filesystem::path& root);

} // namespace kvmrun::templates
