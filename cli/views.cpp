#include "cli/views.hpp"

#include "evidence/stopwatch.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

namespace kvmrun::cli {

using host::to_string;

std::string render_text(const host::PreflightReport& report) {
  std::size_t width = 0;
  for (const auto& c : report.checks)
    width = std::max(width, c.name.size());
  std::string text;
  for (const auto& c : report.checks) {
    text += "  ";
    text += to_string(c.verdict);
    text += "  ";
    text += c.name;
    text.append(width - c.name.size() + 2, ' ');
    text += c.summary;
    text += '\n';
    if (!c.remedy.empty() && c.verdict != host::Verdict::pass) {
      text.append(8 + width + 2, ' ');
      text += "remedy: " + c.remedy + '\n';
    }
  }
  text += "accel: ";
  text += to_string(report.accel.chosen);
  text +=
      " (" + std::string(to_string(report.accel.requested)) + "): " + report.accel.reason + '\n';
  text += report.ok() ? "preflight: ok\n" : "preflight: FAILED\n";
  return text;
}

std::string render_json(const host::PreflightReport& report) {
  boost::json::array checks;
  for (const auto& c : report.checks) {
    boost::json::object evidence;
    for (const auto& [key, value] : c.evidence)
      evidence[key] = value;
    boost::json::object check{{"name", c.name},
                              {"verdict", to_string(c.verdict)},
                              {"summary", c.summary},
                              {"evidence", std::move(evidence)}};
    if (!c.remedy.empty())
      check["remedy"] = c.remedy;
    checks.push_back(std::move(check));
  }
  boost::json::object accel{{"requested", to_string(report.accel.requested)},
                            {"chosen", to_string(report.accel.chosen)},
                            {"kvm_usable", report.accel.kvm_usable},
                            {"reason", report.accel.reason}};
  boost::json::object root{
      {"ok", report.ok()}, {"accel", std::move(accel)}, {"checks", std::move(checks)}};
  return boost::json::serialize(root) + "\n";
}

namespace {

std::string verdict(const images::ImageInfo& info, bool is_top) {
  if (!info.problems.empty())
    return "unsafe";
  if (info.has_backing())
    return is_top ? "overlay" : "unsafe";
  return "safe as a base";
}

} // namespace

std::string render_chain_text(const std::vector<images::ImageInfo>& chain) {
  std::string text;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& info = chain[i];
    const std::string pad(i * 2, ' ');
    text += pad + info.path.string() + "\n";
    text += pad + "  format: " + std::string(to_string(info.format)) +
            (info.format == DiskFormat::qcow2 ? " v" + std::to_string(info.version) : "") + "\n";
    text += pad + "  virtual size: " + std::to_string(info.virtual_size) + " bytes\n";
    text += pad + "  file size: " + std::to_string(info.file_size) + " bytes\n";
    if (info.format == DiskFormat::qcow2) {
      text += pad + "  cluster size: " + std::to_string(1ULL << info.cluster_bits) + " bytes\n";
      if (info.has_backing())
        text += pad + "  backing file: " + info.backing_file + " (format " +
                (info.backing_format_text.empty() ? "not recorded" : info.backing_format_text) +
                ")\n";
    }
    for (const auto& p : info.problems)
      text += pad + "  problem: " + p + "\n";
    for (const auto& n : info.notes)
      text += pad + "  note: " + n + "\n";
    text += pad + "  verdict: " + verdict(info, i == 0) + "\n";
  }
  return text;
}

std::string render_chain_json(const std::vector<images::ImageInfo>& chain) {
  boost::json::array images;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto& info = chain[i];
    boost::json::object o{{"path", info.path.string()},
                          {"format", to_string(info.format)},
                          {"virtual_size", info.virtual_size},
                          {"file_size", info.file_size}};
    if (info.format == DiskFormat::qcow2) {
      o["version"] = info.version;
      o["cluster_size"] = 1ULL << info.cluster_bits;
      o["refcount_bits"] = info.refcount_bits;
      o["incompatible_features"] = info.incompatible_features;
      o["compatible_features"] = info.compatible_features;
      o["autoclear_features"] = info.autoclear_features;
      o["dirty"] = info.dirty();
      o["corrupt"] = info.corrupt();
      o["external_data_file"] = info.external_data() || !info.data_file.empty();
      o["encrypted"] = info.crypt_method != 0;
      o["snapshots"] = info.snapshots;
      if (info.has_backing()) {
        o["backing_file"] = info.backing_file;
        o["backing_format"] = info.backing_format_text;
      }
    }
    boost::json::array problems, notes;
    for (const auto& p : info.problems)
      problems.emplace_back(p);
    for (const auto& n : info.notes)
      notes.emplace_back(n);
    o["problems"] = std::move(problems);
    o["notes"] = std::move(notes);
    o["verdict"] = verdict(info, i == 0);
    images.push_back(std::move(o));
  }
  return boost::json::serialize(boost::json::object{{"chain", std::move(images)}}) + "\n";
}

std::string gate_line(const readiness::GateOutcome& o) {
  char head[96];
  std::snprintf(head, sizeof head, "  %-12s %-4s %-11s %9s  ", o.instance.c_str(),
                o.passed ? "ok" : "FAIL", o.gate.c_str(),
                evidence::seconds_text(o.duration).c_str());
  std::string line = head;
  if (o.passed)
    line += o.detail;
  else if (o.error)
    line += o.error->message();
  return line;
}

images::ProgressSink terminal_progress(std::string label, bool is_terminal) {
  if (!is_terminal)
    return {};
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  auto started =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [label = std::move(label), last, started](std::uint64_t received, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const bool done = total > 0 && received >= total;
    if (now - *last < std::chrono::milliseconds(100) && !done)
      return;
    *last = now;
    const double seconds = std::chrono::duration<double>(now - *started).count();
    const double mib = static_cast<double>(received) / (1U << 20U);
    const double rate = seconds > 0 ? mib / seconds : 0.0;
    if (total > 0)
      std::fprintf(stderr, "\r%s %3.0f%% %8.1f / %.1f MiB %7.1f MiB/s", label.c_str(),
                   100.0 * static_cast<double>(received) / static_cast<double>(total), mib,
                   static_cast<double>(total) / (1U << 20U), rate);
    else
      std::fprintf(stderr, "\r%s %8.1f MiB %7.1f MiB/s", label.c_str(), mib, rate);
    if (done)
      std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

evidence::TimingEvent gate_record(const readiness::GateOutcome& o) {
  return {"gate",
          o.gate,
          o.instance,
          o.started,
          o.duration,
          o.passed ? "ok" : "failed",
          o.passed ? o.detail : o.error->describe()};
}

evidence::TimingEvent stop_record(const std::string& instance,
                                  std::chrono::system_clock::time_point started,
                                  const Result<instance::StopResult>& stopped) {
  const auto took = stopped ? stopped->took
                            : std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now() - started);
  return {"task",
          "stop qemu",
          instance,
          started,
          took,
          stopped ? "ok" : "failed",
          stopped ? stopped->step : stopped.error().describe()};
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv)
    line.append(line.empty() ? "" : " ").append(shell_quote(a));
  return line;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_=.,:/@+%") == std::string::npos)
    return s;
  std::string out = "'";
  for (const char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

} // namespace kvmrun::cli
