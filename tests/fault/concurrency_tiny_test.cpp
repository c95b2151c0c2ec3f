// Concurrency with the tiny guest: two `up` of one instance at once (exactly one QEMU; "ready"
// only once its gates passed, for both).
// Levels proven: PROC (one QEMU, nothing left after down), DIAG (both exit 0 saying what they did).
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

#include <thread>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

// Two `up` of one instance at once: exactly one QEMU; the second waits for the first to bring
// it up, then re-proves its gates; both exit 0 only once it is ready.
TEST(TinyConcurrency, TwoUpsAtOnceStartOneQemuAndBothSeeItReady) {
  Lab lab(one_tiny_lab("twice"));
  CommandOutput first, second;
  std::thread a([&] { first = lab.run({"up"}); });
  std::thread b([&] { second = lab.run({"up"}); });
  a.join();
  b.join();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  // One of them started QEMU; the other waited for it, then re-proved the gates.
  const bool a_started = first.out.find("tiny-1: QEMU pid ") != std::string::npos;
  const auto& starter = a_started ? first : second;
  const auto& waiter = a_started ? second : first;
  EXPECT_NE(starter.out.find("ready: tiny-1"), std::string::npos) << starter.out;
  EXPECT_EQ(waiter.out.find("QEMU pid"), std::string::npos) << "no second QEMU:\n" << waiter.out;
  EXPECT_NE(waiter.out.find("tiny-1: another kvmrun (pid "), std::string::npos) << waiter.out;
  EXPECT_NE(waiter.out.find(" (kvmrun)) is bringing it up; waiting for it"), std::string::npos)
      << waiter.out;
  EXPECT_NE(waiter.out.find("tiny-1: already running; its gates are re-proven"), std::string::npos)
      << waiter.out;
  EXPECT_NE(waiter.out.find("  tiny-1       ok   provenance"), std::string::npos) << waiter.out;
  const pid_t qemu = pid_from(starter.out, "tiny-1");
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
