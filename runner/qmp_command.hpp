// `kvmrun qmp INSTANCE|SOCKET COMMAND [JSON-ARGS] [--events]`: one QMP command, its reply as
// JSON, like `virsh qemu-monitor-command`; --events then streams events as JSON lines until
// QEMU closes the connection.
#pragma once

#include "runner/cli.hpp"
#include "runner/cli_args.hpp"

namespace kvmrun::runner {

[[nodiscard]] int run_qmp_command(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                                  const CliEnvironment& env);

} // namespace kvmrun::runner
