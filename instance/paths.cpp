#include "instance/paths.hpp"

#include "base/unix_socket.hpp"

#include <vector>

namespace kvmrun::instance {

InstancePaths instance_paths(const host::Dirs& dirs, std::string_view lab,
                             std::string_view instance) {
  return InstancePaths{dirs.state / lab / instance, dirs.runtime / lab / instance};
}

Status check_socket_paths(const host::Dirs& dirs, const lab::LabSpec& lab) {
  for (const auto& instance : lab.instances) {
    const auto paths = instance_paths(dirs, lab.name, instance.name);
    const auto control = paths.sockets();
    std::vector<std::filesystem::path> all(control.begin(), control.end());
    for (const auto& at : instance.attachments) {
      all.push_back(paths.segment_socket(at.network));
      all.push_back(paths.switch_socket(at.network));
    }
    for (const auto& socket : all) {
      if (socket.native().size() <= max_unix_socket_path())
        continue;
      return Error(ErrorCode::config,
                   "instance '" + instance.name + "': socket path " + socket.string() + " is " +
                       std::to_string(socket.native().size()) + " bytes, over the " +
                       std::to_string(max_unix_socket_path()) + " a unix socket allows",
                   "shorten the lab or instance name, or set KVMRUN_RUNTIME_DIR to a shorter "
                   "directory");
    }
  }
  return {};
}

} // namespace kvmrun::instance
