// The gate table is the one list of readiness gates: the README's table and the lab's
// [timeouts] keys follow it.
#include "base/file_io.hpp"
#include "lab/loader.hpp"
#include "readiness/gates.hpp"

#include <gtest/gtest.h>

namespace kvmrun::readiness {
namespace {

using namespace std::chrono_literals;

TEST(GateTable, TheReadmeListsEveryGateInTheOrderTheyRun) {
  const auto readme = read_file(std::filesystem::path(KVMRUN_SOURCE_DIR) / "README.md");
  ASSERT_TRUE(readme.ok()) << readme.error().describe();
  const auto start = readme->find("| gate | passes when |");
  ASSERT_NE(start, std::string::npos);
  std::vector<std::string> listed;
  std::size_t at = readme->find('\n', readme->find('\n', start) + 1) + 1; // past the rule
  while (at < readme->size() && readme->compare(at, 2, "| ") == 0) {
    const auto end = readme->find(" |", at + 2);
    listed.push_back(readme->substr(at + 2, end - at - 2));
    at = readme->find('\n', at) + 1;
  }
  EXPECT_EQ(listed, gate_names());
}

TEST(GateTable, EachGatesTimeoutKeyIsTheLabSettingThatBoundsIt) {
  for (const auto& gate : gate_table()) {
    const std::string text = "[lab]\nname = \"t\"\n[images.i]\nurl = \"/i.qcow2\"\n"
                             "checksum = \"sha256:" +
                             std::string(64, 'a') +
                             "\"\n[instances.v]\nimage = \"i\"\n"
                             "timeouts = { " +
                             std::string(gate.timeout_key) + " = \"7s\" }\n";
    const auto lab = lab::parse_lab(text, "t.toml");
    ASSERT_TRUE(lab.ok()) << gate.name << ": " << lab.error().describe();
    EXPECT_EQ(lab->instances.at(0).timeouts.*gate.timeout, 7s) << gate.name;
  }
}

} // namespace
} // namespace kvmrun::readiness
