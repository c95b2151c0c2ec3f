// `kvmrun report --html FILE [RUN]`: one self-contained HTML page (inline CSS and SVG; no
// script, font or image fetched from anywhere) showing a run at a glance: a timeline with a row
// for the lab's stages, one for lab-wide tasks and one per instance (its provisioning, QEMU and
// each gate, coloured by outcome, every bar titled with its time and detail), each instance's
// gates as a table, and the slowest tasks; for a `bench cold` directory, each stage's, gate's
// and instance's time to ready as its spread (min, median, max) over the runs. Pure.
#pragma once

#include "base/json_record.hpp"
#include "base/result.hpp"
#include "evidence/run_records.hpp"

#include <string>

namespace kvmrun::evidence {

[[nodiscard]] std::string render_run_html(const RunRecords& run, const std::string& lab);
// `summary` is a bench directory's summary.json (cold_bench.hpp), every field checked.
[[nodiscard]] Result<std::string> render_cold_html(const JsonRecord& summary);

} // namespace kvmrun::evidence
