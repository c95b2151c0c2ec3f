// `kvmrun up`'s stage table: what each `--stage` runs, in order (cli/up_command.cpp drives it).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::cli::up {

// What each `--stage` runs, in order. A step that is `timed` is a stage of its own in the
// output and the evidence; the others are the checks a stage run alone needs first (the
// runtime needs the accelerator, the provisioned files and the base digests).
enum class Step { preflight, fetch_images, find_images, provision, check_provisioned, runtime };
struct StageStep {
  Step step;
  bool timed;
};
struct Stage {
  std::string_view name;
  std::vector<StageStep> steps;
};
inline const auto stage_table = std::to_array<Stage>({
    {"preflight", {{Step::preflight, true}}},
    {"image-cache", {{Step::fetch_images, true}}},
    {"provision", {{Step::find_images, false}, {Step::provision, true}}},
    {"runtime",
     {{Step::preflight, false},
      {Step::find_images, false},
      {Step::check_provisioned, false},
      {Step::runtime, true}}},
    {"full",
     {{Step::preflight, true},
      {Step::fetch_images, true},
      {Step::provision, true},
      {Step::runtime, true}}},
});

// "preflight, image-cache, provision, runtime or full"
inline std::string stage_choices() {
  std::string text;
  for (std::size_t i = 0; i < stage_table.size(); ++i)
    text += std::string(i == 0                        ? ""
                        : i + 1 == stage_table.size() ? " or "
                                                      : ", ") +
            std::string(stage_table[i].name);
  return text;
}

inline std::string_view step_name(Step step) {
  switch (step) {
  case Step::preflight: return "preflight";
  case Step::fetch_images:
  case Step::find_images: return "image-cache";
  case Step::provision:
  case Step::check_provisioned: return "provision";
  case Step::runtime: return "runtime";
  }
  return "runtime";
}

} // namespace kvmrun::cli::up
