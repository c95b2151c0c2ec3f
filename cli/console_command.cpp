// `kvmrun console INSTANCE [--follow]`: the serial console log, or (--follow) what QEMU appends
// to it while it runs, as `tail -f` does: the serial socket serves one client, and `up`'s gates
// may be holding it.
#include "base/subprocess.hpp"
#include "base/unique_fd.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "instance/qemu_process.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace kvmrun::cli {

using namespace std::chrono_literals;

int run_console(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                const CliEnvironment& env) {
  auto found = one_instance(args, env, 0, "kvmrun console INSTANCE [--follow]");
  if (!found)
    return fail(err, found.error());
  auto& [ctx, instance] = *found;
  const auto paths = ctx.paths(*instance);
  // The log QEMU writes, then (--follow) what it appends while QEMU runs, as `tail -f` does: the
  // serial socket serves one client, and `up`'s gates may be holding it.
  std::optional<pid_t> pid;
  if (args.has("--follow"))
    pid = instance::running_pid(paths, ctx.lab.name, instance->name);
  const auto open_log = [&] {
    return UniqueFd(::open(paths.serial_log().c_str(), O_RDONLY | O_CLOEXEC));
  };
  UniqueFd log = open_log();
  // QEMU creates the log as it starts: following a console the moment `up` started QEMU waits
  // (up to 5 s) for it to appear.
  for (int tries = 0; !log.valid() && pid && tries < 50; ++tries) {
    if (wait_exit(*pid, 100ms))
      break;
    log = open_log();
  }
  if (!log.valid())
    return fail(err, Error(ErrorCode::io, "instance '" + instance->name + "' has no serial log",
                           "it has not been started yet: `kvmrun up " + instance->name + "`"));
  off_t offset = 0;
  const auto copy_new = [&] {
    char buf[65536];
    ssize_t n = 0;
    while ((n = ::pread(log.get(), buf, sizeof buf, offset)) > 0) {
      out.write(buf, static_cast<std::streamsize>(n));
      offset += n;
    }
    out.flush();
  };
  copy_new();
  if (!pid)
    return 0;
  bool exited = false;
  while (!exited) {
    exited = wait_exit(*pid, 200ms);
    copy_new();
  }
  return 0;
}

} // namespace kvmrun::cli
