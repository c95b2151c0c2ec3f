#include "metrics/exposition.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kvmrun::metrics {

namespace {

std::string number(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", v);
    return text;
  }
  // The shortest of %.15g, %.16g, %.17g that reads back as the same double.
  char text[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v)
      break;
  }
  return text;
}

// HELP text escapes \ and newline only.
std::string escape_help(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

std::string escape_label_value(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string render(const std::vector<Family>& families) {
  std::string out;
  for (const auto& f : families) {
    if (f.samples.empty())
      continue;
    out.append("# HELP ").append(f.name).append(" ").append(escape_help(f.help)).append("\n");
    out.append("# TYPE ").append(f.name).append(f.type == Type::counter ? " counter\n"
                                                                        : " gauge\n");
    for (const auto& s : f.samples) {
      out.append(f.name);
      if (!s.labels.empty()) {
        out.append("{");
        for (std::size_t i = 0; i < s.labels.size(); ++i)
          out.append(i == 0 ? "" : ",")
              .append(s.labels[i].first)
              .append("=\"")
              .append(escape_label_value(s.labels[i].second))
              .append("\"");
        out.append("}");
      }
      out.append(" ").append(number(s.value)).append("\n");
    }
  }
  return out;
}

} // namespace kvmrun::metrics
