#include "cli/commands.hpp"

namespace kvmrun::cli {

int run_streamed(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                 const StreamedBody& body) {
  std::string evidence;
  if (!args.has("--json"))
    return body(out, nullptr, evidence);
  evidence::EventStream stream(out);
  const int rc = body(err, &stream, evidence);
  stream.result(rc == 0 ? "ok" : "failed", rc, evidence);
  return rc;
}

} // namespace kvmrun::cli
