// `kvmrun events [--follow] [RUN-DIR]`: a run's events (default: the lab's latest run) replayed
// from its timings.jsonl in `up --json`'s schema (evidence/event_stream.hpp), then its result
// from summary.json. --follow waits for the records of a run still in progress as they are
// appended, until it ends (summary.json written) or the kvmrun running it is gone.
#include "base/json_record.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "evidence/event_stream.hpp"

#include <signal.h>

#include <fstream>
#include <thread>

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;

// The pid a run directory's name ends with ("2026-12-01T19-04-58.363Z-24598"), if any.
std::optional<pid_t> writer_of(const std::filesystem::path& run) {
  std::error_code ec;
  const auto name = std::filesystem::canonical(run, ec).filename().string();
  const auto dash = name.rfind('-');
  if (dash == std::string::npos)
    return std::nullopt;
  try {
    return static_cast<pid_t>(std::stol(name.substr(dash + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace

int run_events(const ParsedArgs& args, std::ostream& out, std::ostream& err,
               const CliEnvironment& env) {
  const auto found = run_dir_argument(args, env);
  if (!found)
    return fail(err, found.error());
  const auto& run = *found;
  std::error_code ec;
  const auto file = run / "timings.jsonl";
  if (!std::filesystem::exists(file, ec))
    return fail(err, Error(ErrorCode::config, "no run's events at " + file.string(),
                           "`kvmrun up` records a run; give a directory under <state>/<lab>/runs"));
  const bool follow = args.has("--follow");
  const auto writer = writer_of(run);
  evidence::EventStream stream(out);
  std::ifstream in(file);
  std::string pending; // a line not yet ended by its newline (the writer is mid-line)
  std::size_t number = 0;
  while (true) {
    const bool ended = std::filesystem::exists(run / "summary.json", ec);
    for (std::string chunk; std::getline(in, chunk);) {
      if (in.eof()) { // no newline yet: the rest comes later
        pending += chunk;
        break;
      }
      const std::string line = pending + chunk;
      pending.clear();
      ++number;
      auto record = JsonRecord::parse(line, file.string() + ":" + std::to_string(number));
      if (!record)
        return fail(err, record.error());
      stream.end(record->fields());
    }
    in.clear();
    if (ended || !follow)
      break;
    if (writer && ::kill(*writer, 0) != 0 && errno == ESRCH &&
        !std::filesystem::exists(run / "summary.json", ec)) {
      stream.result("interrupted", std::nullopt, run.string());
      return 0;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (auto summary = JsonRecord::load(run / "summary.json"); summary) {
    auto outcome = summary->string("outcome");
    if (!outcome)
      return fail(err, outcome.error());
    stream.result(*outcome, std::nullopt, std::filesystem::canonical(run, ec).string());
  } else if (std::filesystem::exists(run / "summary.json", ec)) {
    return fail(err, summary.error());
  }
  return 0;
}

} // namespace kvmrun::cli
