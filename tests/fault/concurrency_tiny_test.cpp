// Concurrency with the tiny guest: two `up` of one instance at once (exactly one QEMU; "ready"
// only once its gates passed, for both).
// Levels proven: PROC (one QEMU, nothing left after down), DIAG (both exit 0 saying what they did).
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <sys/wait.h>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::string tiny_lab(const std::string& lab_name) {
  return "[lab]\nname = \"" + lab_name + "\"\n" + tiny_image_section() + R"([instances.tiny-1]
image = "tiny"
cpus = 1
memory = "256MiB"
timeouts = { shutdown = "3s" }
)";
}

// Two `up` of one instance at once: exactly one QEMU; the second waits for the first to bring
// it up, then re-proves its gates; both exit 0 only once it is ready.
TEST(TinyConcurrency, TwoUpsAtOnceStartOneQemuAndBothSeeItReady) {
  Lab lab(tiny_lab("twice"));
  BackgroundProcess first(lab.argv({"up"}));
  const auto spawned = first.wait_for_line("  tiny-1: QEMU pid ", 120s);
  ASSERT_TRUE(spawned) << "the first up never started QEMU";
  const pid_t qemu = pid_from(*spawned, "tiny-1");
  const auto second = lab.run({"up"});
  const auto first_status = first.wait_exit(120s);
  ASSERT_TRUE(first_status);
  EXPECT_TRUE(WIFEXITED(*first_status) && WEXITSTATUS(*first_status) == 0);
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("tiny-1: another kvmrun (pid " + std::to_string(first.pid()) +
                            " (kvmrun)) is bringing it up; waiting for it"),
            std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("tiny-1: already running; its gates are re-proven"), std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("  tiny-1       ok   provenance"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("QEMU pid"), std::string::npos) << "no second QEMU";
  EXPECT_TRUE(alive(qemu));
  const auto status = lab.run({"status", "--json"});
  const auto inst =
      boost::json::parse(status.out).as_object().at("instances").as_array().at(0).as_object();
  EXPECT_EQ(inst.at("pid").as_int64(), qemu);
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
  EXPECT_FALSE(alive(qemu));
}

} // namespace
} // namespace kvmrun::testing
