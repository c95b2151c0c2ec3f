// Prometheus's text exposition format (version 0.0.4), pure: metric families with their HELP and
// TYPE lines, samples with escaped label values, numbers as Prometheus writes them. What
// `kvmrun metrics` prints and writes for node_exporter's textfile collector.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kvmrun::metrics {

enum class Type { gauge, counter };

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels; // in order
  double value = 0;
};

struct Family {
  std::string name; // [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total
  std::string help;
  Type type = Type::gauge;
  std::vector<Sample> samples;
};

// Families in order; a family without samples is left out (promtool rejects HELP without data
// for nothing, and an absent series says "unknown" better than a made-up zero).
[[nodiscard]] std::string render(const std::vector<Family>& families);

// A label value with \, " and newline escaped as the format requires.
[[nodiscard]] std::string escape_label_value(const std::string& value);

} // namespace kvmrun::metrics
