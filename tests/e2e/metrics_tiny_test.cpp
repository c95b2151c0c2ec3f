// `kvmrun metrics` against a running tiny guest: what promtool accepts, counters that grow while
// the guest works, the textfile for node_exporter, and an instance that went down.
#include "tests/e2e/lab_harness.hpp"

#include <map>

namespace kvmrun::testing {
namespace {

// promtool's verdict on exposition text (exit 0 and its complaints).
CommandOutput promtool(const std::filesystem::path& file) {
  auto r = run_command({"sh", "-c", "promtool check metrics < '" + file.string() + "'"},
                       CommandOptions{std::chrono::seconds(30), 1U << 20U});
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : CommandOutput{};
}

// The value of the one sample whose line starts with `series` ("name{labels}").
double value_of(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  EXPECT_NE(at, std::string::npos) << series << " in\n" << text;
  if (at == std::string::npos)
    return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(TinyMetrics, PassPromtoolAndCountersGrowWhileTheGuestWrites) {
  Lab lab("[lab]\nname = \"mx\"\n" + tiny_image_section() + R"([instances.tiny-1]
image = "tiny"
cpus = 1
memory = "256MiB"
disks = [{ name = "data", size = "64MiB", mount = "/srv/data" }]
timeouts = { shutdown = "3s" }
)");
  ASSERT_EQ(lab.run({"up"}).exit_code, 0);
  const std::string id = "lab=\"mx\",instance=\"tiny-1\"";
  auto first = lab.run({"metrics"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  write_file(lab.state() / "first.prom", first.out);
  const auto checked = promtool(lab.state() / "first.prom");
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << first.out;
  EXPECT_EQ(value_of(first.out, "kvmrun_instance_up{" + id + "}"), 1);
  EXPECT_NE(first.out.find("kvmrun_build_info{version=\""), std::string::npos);
  EXPECT_GT(value_of(first.out, "kvmrun_qemu_resident_memory_bytes{" + id + "}"), 50e6);
  EXPECT_LT(std::abs(value_of(first.out, "kvmrun_guest_clock_offset_seconds{" + id + "}")), 2);
  EXPECT_GT(value_of(first.out, "kvmrun_last_run_gate_duration_seconds{" + id + ",gate=\"boot\"}"),
            0);
  EXPECT_GT(value_of(first.out, "kvmrun_last_run_ready_seconds{" + id + "}"), 0);
  EXPECT_EQ(value_of(first.out, "kvmrun_last_run_success{lab=\"mx\"}"), 1);
  EXPECT_NE(first.out.find("kvmrun_network_receive_bytes_total{" + id + ",interface=\"eth0\""),
            std::string::npos)
      << first.out;

  in_guest(lab, "tiny-1", "dd if=/dev/zero of=/srv/data/f bs=1M count=16 conv=fsync 2>/dev/null");
  const auto second = lab.run({"metrics"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const std::string data = "{" + id + ",disk=\"data\"}";
  EXPECT_GE(value_of(second.out, "kvmrun_disk_written_bytes_total" + data) -
                value_of(first.out, "kvmrun_disk_written_bytes_total" + data),
            16e6);
  EXPECT_GT(value_of(second.out, "kvmrun_disk_writes_total" + data),
            value_of(first.out, "kvmrun_disk_writes_total" + data));
  EXPECT_GT(value_of(second.out, "kvmrun_qemu_cpu_seconds_total{" + id + "}"),
            value_of(first.out, "kvmrun_qemu_cpu_seconds_total{" + id + "}"));

  // The textfile collector's file, written whole.
  const auto textfiles = lab.state() / "textfiles";
  std::filesystem::create_directories(textfiles);
  ASSERT_EQ(lab.run({"metrics", "--textfile", textfiles.string()}).exit_code, 0);
  EXPECT_EQ(promtool(textfiles / "kvmrun_mx.prom").exit_code, 0);
  auto missing = lab.run({"metrics", "--textfile", (textfiles / "nope").string()});
  EXPECT_EQ(missing.exit_code, 10) << missing.err;

  ASSERT_EQ(lab.run({"down"}).exit_code, 0);
  const auto after = lab.run({"metrics"});
  EXPECT_EQ(value_of(after.out, "kvmrun_instance_up{" + id + "}"), 0);
  EXPECT_EQ(after.out.find("kvmrun_qemu_cpu_seconds_total{"), std::string::npos);
}

} // namespace
} // namespace kvmrun::testing
