// `kvmrun switch LAB_RUNTIME NETWORK READY_FD MEMBER...`: a lab network's switch, in its own
// process. `up` starts it and `down` stops it (network/switch.hpp); people do not run it.
#include "cli/commands.hpp"
#include "network/switch.hpp"

namespace kvmrun::cli {

int run_switch(const ParsedArgs& args, std::ostream&, std::ostream& err, const CliEnvironment&) {
  auto parsed = network::parse_switch_args(args.positional);
  if (!parsed)
    return fail(err, parsed.error());
  if (auto s = network::run_switch(parsed->first, parsed->second); !s)
    return fail(err, s.error());
  return 0;
}

} // namespace kvmrun::cli
