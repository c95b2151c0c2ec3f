// The lab lifecycle as users drive it: up (stages preflight, image-cache, provision, runtime),
// status, check, exec, console, snapshot, down and report.
#pragma once

#include "runner/cli.hpp"
#include "runner/cli_args.hpp"

#include <ostream>

namespace kvmrun::runner {

int run_up(const ParsedArgs& args, std::ostream& out, std::ostream& err, const CliEnvironment& env);
int run_down(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env);
int run_status(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env);
int run_check(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env);
int run_exec(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env);
int run_console(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                const CliEnvironment& env);
int run_snapshot(const ParsedArgs& args, std::ostream& out, std::ostream& err,
                 const CliEnvironment& env);
int run_report(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env);

} // namespace kvmrun::runner
