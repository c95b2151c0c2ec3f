#include "evidence/html_report.hpp"

#include "evidence/cold_bench.hpp"
#include "evidence/junit_report.hpp"
#include "evidence/stopwatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kvmrun::evidence {

namespace {

constexpr int page_width = 1160; // the SVGs' width in CSS pixels
constexpr int label_width = 150; // the row labels left of a chart
constexpr int row_height = 28;
constexpr int axis_height = 24;

std::string esc(std::string_view text) { return xml_escape(text, true); }

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

// "36 ms" under a second, "12.3 s" from there.
std::string seconds(std::chrono::milliseconds d) {
  return d < std::chrono::seconds(1) ? std::to_string(d.count()) + " ms" : seconds_text(d);
}

const char* colour(const std::string& kind, const std::string& outcome) {
  if (outcome == "failed")
    return "#c62828";
  if (outcome == "skipped")
    return "#9e9e9e";
  if (kind == "stage")
    return "#4f6d8f";
  if (kind == "task")
    return "#7e57c2";
  return "#2e7d32"; // a gate that passed
}

// A tick step (1, 2 or 5 times a power of ten) giving at most about ten ticks over `span`.
double tick_step(double span) {
  if (span <= 0)
    return 1;
  const double raw = span / 10;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * power)
      return m * power;
  return 10 * power;
}

// Vertical grid lines and their labels (`unit` after each) over a chart `rows` rows high whose
// x axis runs from 0 to `span`.
std::string axis(double span, int rows, const char* unit) {
  const double plot = page_width - label_width - 10;
  const double step = tick_step(span);
  const int bottom = rows * row_height;
  std::string s;
  for (double t = 0; t <= span * 1.0001; t += step) {
    const double x = label_width + (span > 0 ? t / span : 0) * plot;
    s += "<line x1=\"" + num(x) + "\" y1=\"0\" x2=\"" + num(x) + "\" y2=\"" +
         std::to_string(bottom) + "\" class=\"grid\"/>";
    char label[32];
    std::snprintf(label, sizeof label, step < 1 ? "%.1f%s" : "%.0f%s", t, unit);
    s += "<text x=\"" + num(x) + "\" y=\"" + std::to_string(bottom + 16) + "\" class=\"tick\">" +
         label + "</text>";
  }
  return s;
}

std::string row_label(int row, const std::string& text) {
  return "<text x=\"4\" y=\"" + std::to_string(row * row_height + 18) + "\" class=\"row\">" +
         esc(text) + "</text><line x1=\"0\" y1=\"" + std::to_string((row + 1) * row_height) +
         "\" x2=\"" + std::to_string(page_width) + "\" y2=\"" +
         std::to_string((row + 1) * row_height) + "\" class=\"sep\"/>";
}

std::string svg_open(int rows, const std::string& title) {
  return "<svg width=\"" + std::to_string(page_width) + "\" height=\"" +
         std::to_string(rows * row_height + axis_height) + "\" role=\"img\">" + "<title>" +
         esc(title) + "</title>";
}

std::string page_open(const std::string& title, const std::string& heading) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) +
         "</title><style>"
         "body{font-family:'DejaVu Sans',sans-serif;margin:20px;color:#212121;background:#fff;"
         "width:" +
         std::to_string(page_width) +
         "px}h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}"
         "p.meta{margin:0;color:#555;font-size:13px}"
         "table{border-collapse:collapse;font-size:12px;margin-bottom:8px}"
         "td,th{border:1px solid #ddd;padding:3px "
         "8px;text-align:left;vertical-align:top}td:first-child{white-space:nowrap}"
         "th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}"
         "td.failed{color:#c62828;font-weight:bold}"
         "svg text{font-family:'DejaVu Sans',sans-serif}"
         ".grid{stroke:#e0e0e0;stroke-width:1}.sep{stroke:#f0f0f0;stroke-width:1}"
         ".tick{font-size:10px;fill:#757575;text-anchor:middle}.row{font-size:12px;fill:#212121}"
         ".bar{font-size:10px;fill:#fff}.key{font-size:12px}"
         "</style></head><body>\n<h1>" +
         esc(heading) + "</h1>\n";
}

std::string legend() {
  std::string s = "<svg width=\"620\" height=\"22\">";
  int x = 0;
  for (const auto& [kind, outcome, text] : {std::tuple{"stage", "ok", "stage"},
                                            {"task", "ok", "task"},
                                            {"gate", "ok", "gate passed"},
                                            {"gate", "failed", "failed"},
                                            {"gate", "skipped", "skipped"}}) {
    s += "<rect x=\"" + std::to_string(x) + "\" y=\"5\" width=\"14\" height=\"12\" fill=\"" +
         colour(kind, outcome) + "\"/><text x=\"" + std::to_string(x + 19) +
         "\" y=\"15\" class=\"key\">" + text + "</text>";
    x += 120;
  }
  return s + "</svg>\n";
}

std::string label_of(const TimingEvent& e) {
  return e.kind + " " + e.name + (e.instance.empty() ? "" : " (" + e.instance + ")");
}

// The timeline: bars placed by their start and length on one axis from the run's start.
std::string timeline(const RunRecords& run) {
  std::vector<std::pair<std::string, std::vector<const TimingEvent*>>> rows{{"stages", {}}};
  std::vector<const TimingEvent*> lab_tasks;
  for (const auto& e : run.events)
    if (e.kind == "stage")
      rows[0].second.push_back(&e);
    else if (e.instance.empty())
      lab_tasks.push_back(&e);
  if (!lab_tasks.empty())
    rows.emplace_back("lab tasks", lab_tasks);
  for (const auto& name : instances_of(run)) {
    std::vector<const TimingEvent*> mine;
    for (const auto& e : run.events)
      if (e.instance == name)
        mine.push_back(&e);
    rows.emplace_back(name, std::move(mine));
  }
  double span = std::chrono::duration<double>(run.wall).count();
  for (const auto& e : run.events)
    span =
        std::max(span, std::chrono::duration<double>(e.start + e.duration - run.started).count());
  const double plot = page_width - label_width - 10;
  const auto x_of = [&](double t) { return label_width + (span > 0 ? t / span : 0) * plot; };

  const int count = static_cast<int>(rows.size());
  std::string s = svg_open(count, "timeline of run " + run.id) + axis(span, count, " s");
  for (int r = 0; r < count; ++r) {
    s += row_label(r, rows[static_cast<std::size_t>(r)].first);
    for (const auto* e : rows[static_cast<std::size_t>(r)].second) {
      const double from = std::chrono::duration<double>(e->start - run.started).count();
      const double x = x_of(std::max(0.0, from));
      const double w =
          std::max(2.0, x_of(from + std::chrono::duration<double>(e->duration).count()) - x);
      const int y = r * row_height + 4;
      s += "<g><title>" +
           esc(label_of(*e) + ": " + seconds(e->duration) + ", " + e->outcome +
               (e->detail.empty() ? "" : "\n" + e->detail)) +
           "</title><rect x=\"" + num(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" + num(w) +
           "\" height=\"" + std::to_string(row_height - 8) + "\" rx=\"2\" fill=\"" +
           colour(e->kind, e->outcome) + "\" stroke=\"#fff\" stroke-width=\"0.5\"/>";
      if (w > 7.0 * static_cast<double>(e->name.size()) + 8)
        s += "<text x=\"" + num(x + 4) + "\" y=\"" + std::to_string(y + 14) + "\" class=\"bar\">" +
             esc(e->name) + "</text>";
      s += "</g>";
    }
  }
  return s + "</svg>\n";
}

std::string event_row(const TimingEvent& e, bool with_instance) {
  std::string s = "<tr>";
  if (with_instance)
    s += "<td>" + esc(e.instance.empty() ? "(lab)" : e.instance) + "</td>";
  return s + "<td>" + esc(e.kind + " " + e.name) + "</td><td class=\"n\">" + seconds(e.duration) +
         "</td><td" + (e.outcome == "failed" ? " class=\"failed\"" : "") + ">" + esc(e.outcome) +
         "</td><td>" + esc(e.detail) + "</td></tr>\n";
}

// Horizontal spreads: a line from min to max and a mark at the median, one row per name.
std::string spread_chart(const std::vector<std::pair<std::string, Spread>>& rows,
                         const std::string& title) {
  double top = 0;
  for (const auto& [name, s] : rows)
    top = std::max(top, static_cast<double>(s.max) / 1000);
  const double plot = page_width - label_width - 10;
  const auto x_of = [&](std::int64_t ms) {
    return label_width + (top > 0 ? static_cast<double>(ms) / 1000 / top : 0) * plot;
  };
  const int count = static_cast<int>(rows.size());
  std::string s = svg_open(count, title) + axis(top, count, " s");
  for (int r = 0; r < count; ++r) {
    const auto& [name, sp] = rows[static_cast<std::size_t>(r)];
    const int mid = r * row_height + row_height / 2;
    s += row_label(r, name) + "<g><title>" +
         esc(name + ": median " + seconds(std::chrono::milliseconds(sp.median)) + ", min " +
             seconds(std::chrono::milliseconds(sp.min)) + ", max " +
             seconds(std::chrono::milliseconds(sp.max))) +
         "</title><line x1=\"" + num(x_of(sp.min)) + "\" y1=\"" + std::to_string(mid) + "\" x2=\"" +
         num(std::max(x_of(sp.max), x_of(sp.min) + 2)) + "\" y2=\"" + std::to_string(mid) +
         "\" stroke=\"#4f6d8f\" stroke-width=\"6\"/><rect x=\"" + num(x_of(sp.median) - 2) +
         "\" y=\"" + std::to_string(mid - 9) +
         "\" width=\"4\" height=\"18\" fill=\"#c62828\"/></g>";
  }
  return s + "</svg>\n";
}

} // namespace

std::string render_run_html(const RunRecords& run, const std::string& lab) {
  std::string h = page_open("kvmrun run " + run.id, "kvmrun " + run.command + ": lab " + lab);
  h += "<p class=\"meta\">run " + esc(run.id) + ", started " + esc(iso_time(run.started)) +
       ", wall time " + seconds(run.wall) + ", outcome <b>" + esc(run.outcome) + "</b>, " +
       std::to_string(run.events.size()) + " records</p>\n<h2>Timeline</h2>\n" + legend() +
       timeline(run);
  for (const auto& name : instances_of(run)) {
    h += "<h2>" + esc(name) +
         "</h2>\n<table><tr><th>step</th><th>time</th><th>outcome</th>"
         "<th>detail</th></tr>\n";
    for (const auto& e : run.events)
      if (e.instance == name)
        h += event_row(e, false);
    h += "</table>\n";
  }
  std::vector<const TimingEvent*> tasks;
  for (const auto& e : run.events)
    if (e.kind != "stage")
      tasks.push_back(&e);
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const auto* a, const auto* b) { return a->duration > b->duration; });
  h += "<h2>Slowest</h2>\n<table><tr><th>instance</th><th>step</th><th>time</th><th>outcome</th>"
       "<th>detail</th></tr>\n";
  for (std::size_t k = 0; k < tasks.size() && k < 8; ++k)
    h += event_row(*tasks[k], true);
  return h + "</table>\n</body></html>\n";
}

Result<std::string> render_cold_html(const JsonRecord& summary) {
  auto lab = summary.string("lab");
  auto command = summary.string("command");
  auto machine = summary.string("machine");
  auto planned = summary.integer("planned");
  auto ok = summary.integer("ok");
  auto up = read_spread(summary, "up_ms");
  auto down = read_spread(summary, "down_ms");
  auto stages = read_spreads(summary, "stage_ms");
  auto gates = read_spreads(summary, "gate_ms");
  auto ready = read_spreads(summary, "ready_ms");
  auto slowest = summary.objects("slowest");
  if (auto e =
          first_error(lab, command, machine, planned, ok, up, down, stages, gates, ready, slowest))
    return *e;
  const auto spread_cells = [](const Spread& s) {
    return "<td class=\"n\">" + seconds(std::chrono::milliseconds(s.median)) +
           "</td><td class=\"n\">" + seconds(std::chrono::milliseconds(s.min)) +
           "</td><td class=\"n\">" + seconds(std::chrono::milliseconds(s.max)) + "</td>";
  };
  std::string h = page_open("kvmrun bench cold " + *lab, "kvmrun bench cold: lab " + *lab);
  h += "<p class=\"meta\">" + std::to_string(*ok) + " of " + std::to_string(*planned) +
       " run(s) ok; spreads over the runs that passed. " + esc(*machine) + "</p>\n" +
       "<p class=\"meta\">" + esc(*command) + "</p>\n" +
       "<table><tr><th></th><th>median</th><th>min</th><th>max</th></tr>\n"
       "<tr><td>up to every gate passed</td>" +
       spread_cells(*up) + "</tr>\n<tr><td>down</td>" + spread_cells(*down) + "</tr></table>\n";
  for (const auto& [heading, rows] : {std::pair{"Stages", &*stages},
                                      {"Gates (every instance)", &*gates},
                                      {"Ready, from the start of up", &*ready}}) {
    h += "<h2>" + std::string(heading) +
         "</h2>\n<p class=\"meta\">bar: min to max; red mark: median</p>\n" +
         spread_chart(*rows, heading);
  }
  h += "<h2>Slowest</h2>\n<table><tr><th>step</th><th>median</th><th>min</th><th>max</th></tr>\n";
  for (const auto& event : *slowest) {
    auto kind = event.string("kind"), name = event.string("name"),
         instance = event.string("instance");
    auto took = read_spread(event, "duration_ms");
    if (auto e = first_error(kind, name, instance, took))
      return *e;
    h += "<tr><td>" + esc(*kind + " " + *name + (instance->empty() ? "" : " (" + *instance + ")")) +
         "</td>" + spread_cells(*took) + "</tr>\n";
  }
  return h + "</table>\n</body></html>\n";
}

} // namespace kvmrun::evidence
