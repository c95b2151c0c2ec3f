#include "evidence/cold_bench.hpp"

#include "evidence/report_text.hpp"
#include "evidence/stopwatch.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

namespace kvmrun::evidence {

namespace json = boost::json;

namespace {

// Samples by name, in the order the names first appear (a lab's stages and gates run in their
// table's order, and are reported so).
class Samples {
public:
  void add(const std::string& name, std::int64_t value) {
    auto it = std::find_if(m_named.begin(), m_named.end(),
                           [&](const auto& n) { return n.first == name; });
    if (it == m_named.end())
      it = m_named.insert(m_named.end(), {name, {}});
    it->second.push_back(value);
  }
  [[nodiscard]] auto begin() const { return m_named.begin(); }
  [[nodiscard]] auto end() const { return m_named.end(); }

private:
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> m_named;
};

std::int64_t ms(std::chrono::microseconds d) { return d.count() / 1000; }

json::object to_json(const Spread& s) {
  return json::object{{"min", s.min}, {"median", s.median}, {"max", s.max}};
}

json::object spreads(const Samples& samples) {
  json::object o;
  for (const auto& [name, values] : samples)
    o[name] = to_json(spread_of(values));
  return o;
}

std::vector<const ColdRun*> ok_runs(const ColdBench& bench) {
  std::vector<const ColdRun*> ok;
  for (const auto& r : bench.runs)
    if (r.outcome == "ok")
      ok.push_back(&r);
  return ok;
}

// One row of time.txt's table: a run's figures, or a spread's.
using Row = std::array<std::int64_t, 9>;
constexpr std::array<std::string_view, 9> row_heads{
    "up_wall_ms",   "kvmrun_cpu_ms", "kvmrun_user_ms",    "kvmrun_sys_ms", "kvmrun_peak_rss_kib",
    "qemu_user_ms", "qemu_sys_ms",   "qemu_peak_rss_kib", "down_wall_ms"};

Row row_of(const ColdRun& r) {
  return {r.up.count(),        ms(r.kvmrun.cpu()),    ms(r.kvmrun.user),
          ms(r.kvmrun.system), r.kvmrun.peak_rss_kib, ms(r.qemu.user),
          ms(r.qemu.system),   r.qemu.peak_rss_kib,   r.down.count()};
}

std::string spread_text(const Spread& s) {
  return std::to_string(s.median) + " ms (" + std::to_string(s.min) + "-" + std::to_string(s.max) +
         ")";
}

// Every named spread of `record.object(key)`, as "  name  median (min-max)" lines.
Result<std::string> spread_lines(const JsonRecord& record, std::string_view key) {
  auto group = read_spreads(record, key);
  if (!group)
    return std::move(group).error();
  std::string text;
  for (const auto& [name, s] : *group)
    text += "  " + padded(name, 24) + spread_text(s) + "\n";
  return text;
}

} // namespace

// The Spread fields of `record.object(key)`: an io error naming the file and field otherwise.
Result<Spread> read_spread(const JsonRecord& record, std::string_view key) {
  auto o = record.object(key);
  if (!o)
    return std::move(o).error();
  auto min = o->integer("min");
  auto median = o->integer("median");
  auto max = o->integer("max");
  if (auto e = first_error(min, median, max))
    return *e;
  return Spread{*min, *median, *max};
}

Result<std::vector<std::pair<std::string, Spread>>> read_spreads(const JsonRecord& record,
                                                                 std::string_view key) {
  auto group = record.object(key);
  if (!group)
    return std::move(group).error();
  std::vector<std::pair<std::string, Spread>> spreads;
  for (const auto& [name, value] : group->fields()) {
    auto s = read_spread(*group, name);
    if (!s)
      return std::move(s).error();
    spreads.emplace_back(std::string(name), *s);
  }
  return spreads;
}

Spread spread_of(std::vector<std::int64_t> samples) {
  if (samples.empty())
    return {};
  std::sort(samples.begin(), samples.end());
  const auto n = samples.size();
  const auto median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  return {samples.front(), median, samples.back()};
}

std::string cold_time_text(const ColdBench& bench) {
  std::ostringstream out;
  const auto ok = ok_runs(bench);
  out << "kvmrun bench cold: lab " << bench.lab << ", " << ok.size() << " of " << bench.planned
      << " run(s) ok\n"
      << "command: " << bench.command << "\n"
      << "machine: " << bench.machine << "\n"
      << "instances:";
  for (const auto& i : bench.instances)
    out << " " << i;
  out << "\n"
      << "each run: the instances' state removed (disks, seed, logs; the image cache stays), `up`\n"
      << "  to every gate passed, then `down`; apt update/upgrade off in every run\n"
      << "kvmrun: the process running `up`: getrusage (its threads and the children it reaped),\n"
      << "  peak RSS = its VmHWM, reset before each up\n"
      << "CPU: the kernel's exact run time, split into user and system by its tick samples\n"
      << "  (with tick accounting a short-lived split is coarse; the sum is not)\n"
      << "qemu: every instance's QEMU once all its gates had passed: /proc/PID/stat (utime,\n"
      << "  stime) and VmHWM, summed over the instances\n\n";
  out << padded("run", 8) << padded("outcome", 9);
  for (const auto& h : row_heads)
    out << padded(h, h.size() + 2);
  out << "\n";
  for (const auto& r : bench.runs) {
    out << padded(std::to_string(r.number), 8) << padded(r.outcome, 9);
    const auto row = row_of(r);
    for (std::size_t k = 0; k < row.size(); ++k)
      out << padded(std::to_string(row[k]), row_heads[k].size() + 2);
    out << "\n";
  }
  if (!ok.empty()) {
    std::array<Spread, 9> s;
    for (std::size_t k = 0; k < s.size(); ++k) {
      std::vector<std::int64_t> column;
      for (const auto* r : ok)
        column.push_back(row_of(*r)[k]);
      s[k] = spread_of(column);
    }
    for (const auto& [label, field] :
         std::to_array<std::pair<std::string_view, int>>({{"min", 0}, {"median", 1}, {"max", 2}})) {
      out << padded(label, 8) << padded("", 9);
      for (std::size_t k = 0; k < s.size(); ++k) {
        const auto v = field == 0 ? s[k].min : field == 1 ? s[k].median : s[k].max;
        out << padded(std::to_string(v), row_heads[k].size() + 2);
      }
      out << "\n";
    }
  }
  return out.str();
}

json::object cold_summary(const ColdBench& bench) {
  const auto ok = ok_runs(bench);
  Samples stages;
  Samples gates;
  Samples ready;
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::int64_t>> tasks;
  std::vector<std::int64_t> up;
  std::vector<std::int64_t> down;
  std::vector<std::int64_t> kvmrun_cpu;
  std::vector<std::int64_t> kvmrun_rss;
  std::vector<std::int64_t> qemu_cpu;
  std::vector<std::int64_t> qemu_rss;
  for (const auto* r : ok) {
    up.push_back(r->up.count());
    down.push_back(r->down.count());
    kvmrun_cpu.push_back(ms(r->kvmrun.cpu()));
    kvmrun_rss.push_back(r->kvmrun.peak_rss_kib);
    qemu_cpu.push_back(ms(r->qemu.cpu()));
    qemu_rss.push_back(r->qemu.peak_rss_kib);
    std::vector<std::pair<std::string, std::int64_t>> stage_total; // in order, summed
    std::vector<std::pair<std::string, std::int64_t>> ready_at;    // per instance, the latest
    const auto slot = [](auto& pairs, const std::string& name) -> std::int64_t& {
      auto it =
          std::find_if(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == name; });
      return it == pairs.end() ? pairs.emplace_back(name, 0).second : it->second;
    };
    for (const auto& e : r->events) {
      if (e.kind == "stage") {
        slot(stage_total, e.name) += e.duration.count();
        continue;
      }
      tasks[{e.kind, e.name, e.instance}].push_back(e.duration.count());
      if (e.kind != "gate")
        continue;
      gates.add(e.name, e.duration.count());
      const auto end =
          std::chrono::duration_cast<std::chrono::milliseconds>(e.start + e.duration - r->started);
      auto& at = slot(ready_at, e.instance);
      at = std::max(at, end.count());
    }
    for (const auto& [name, total] : stage_total)
      stages.add(name, total);
    for (const auto& [name, at] : ready_at)
      ready.add(name, at);
  }
  std::vector<std::pair<std::int64_t, json::object>> slow;
  for (const auto& [key, values] : tasks) {
    const auto s = spread_of(values);
    json::object o{{"kind", std::get<0>(key)},
                   {"name", std::get<1>(key)},
                   {"instance", std::get<2>(key)},
                   {"duration_ms", to_json(s)}};
    slow.emplace_back(s.median, std::move(o));
  }
  std::stable_sort(slow.begin(), slow.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  json::array slowest;
  for (std::size_t k = 0; k < slow.size() && k < 5; ++k)
    slowest.push_back(slow[k].second);
  json::array instances;
  for (const auto& i : bench.instances)
    instances.emplace_back(i);
  json::array runs;
  for (const auto& r : bench.runs)
    runs.push_back(json::object{{"run", r.number},
                                {"outcome", r.outcome},
                                {"started", iso_time(r.started)},
                                {"up_ms", r.up.count()},
                                {"down_ms", r.down.count()},
                                {"kvmrun_cpu_ms", ms(r.kvmrun.cpu())},
                                {"kvmrun_peak_rss_kib", r.kvmrun.peak_rss_kib},
                                {"qemu_cpu_ms", ms(r.qemu.cpu())},
                                {"qemu_peak_rss_kib", r.qemu.peak_rss_kib}});
  return json::object{
      {"kind", cold_bench_kind},
      {"command", bench.command},
      {"lab", bench.lab},
      {"machine", bench.machine},
      {"instances", instances},
      {"planned", bench.planned},
      {"ok", static_cast<std::int64_t>(ok.size())},
      {"outcome", ok.size() == static_cast<std::size_t>(bench.planned) ? "ok" : "failed"},
      {"apt", "package_update and package_upgrade off"},
      {"up_ms", to_json(spread_of(up))},
      {"down_ms", to_json(spread_of(down))},
      {"kvmrun_cpu_ms", to_json(spread_of(kvmrun_cpu))},
      {"kvmrun_peak_rss_kib", to_json(spread_of(kvmrun_rss))},
      {"qemu_cpu_ms", to_json(spread_of(qemu_cpu))},
      {"qemu_peak_rss_kib", to_json(spread_of(qemu_rss))},
      {"stage_ms", spreads(stages)},
      {"gate_ms", spreads(gates)},
      {"ready_ms", spreads(ready)},
      {"slowest", slowest},
      {"runs", runs}};
}

Result<std::string> render_cold_report(const JsonRecord& summary) {
  auto lab = summary.string("lab");
  auto command = summary.string("command");
  auto machine = summary.string("machine");
  auto planned = summary.integer("planned");
  auto ok = summary.integer("ok");
  auto up = read_spread(summary, "up_ms");
  auto down = read_spread(summary, "down_ms");
  auto kvmrun_cpu = read_spread(summary, "kvmrun_cpu_ms");
  auto kvmrun_rss = read_spread(summary, "kvmrun_peak_rss_kib");
  auto qemu_cpu = read_spread(summary, "qemu_cpu_ms");
  auto stages = spread_lines(summary, "stage_ms");
  auto gates = spread_lines(summary, "gate_ms");
  auto ready = spread_lines(summary, "ready_ms");
  auto slowest = summary.objects("slowest");
  if (auto e = first_error(lab, command, machine, planned, ok, up, down, kvmrun_cpu, kvmrun_rss,
                           qemu_cpu, stages, gates, ready, slowest))
    return *e;
  std::ostringstream out;
  out << "bench cold, lab " << *lab << ": " << *ok << " of " << *planned
      << " run(s) ok; median (min-max) over the runs that passed\n"
      << "  " << *command << "\n  " << *machine << "\n"
      << "up to every gate passed: " << spread_text(*up) << "\n"
      << "down:                    " << spread_text(*down) << "\n"
      << "kvmrun CPU:              " << spread_text(*kvmrun_cpu) << ", peak RSS "
      << kvmrun_rss->median << " KiB (" << kvmrun_rss->min << "-" << kvmrun_rss->max << ")\n"
      << "QEMU CPU to ready:       " << spread_text(*qemu_cpu) << "\n"
      << "stages:\n"
      << *stages << "gates (every instance):\n"
      << *gates << "ready, from the start of up:\n"
      << *ready << "slowest:\n";
  for (const auto& event : *slowest) {
    auto what = event_label(event);
    auto took = read_spread(event, "duration_ms");
    if (auto e = first_error(what, took))
      return *e;
    out << "  " << padded(*what, 32) << spread_text(*took) << "\n";
  }
  return out.str();
}

} // namespace kvmrun::evidence
