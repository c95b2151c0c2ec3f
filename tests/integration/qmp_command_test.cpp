// `kvmrun qmp SOCKET COMMAND [ARGS] [--events]` against a real QEMU.
#include "base/subprocess.hpp"
#include "tests/support/kvmrun_binary.hpp"
#include "tests/support/qemu_process.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace kvmrun {
namespace {

using namespace std::chrono_literals;

TEST(QmpCommand, PrintsTheReplyAsJson) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  testing::QemuProcess qemu("none");
  const auto r = testing::run_kvmrun({"qmp", qemu.qmp_socket().string(), "query-status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(boost::json::parse(r.out).as_object().contains("status"));
  const auto hmp = testing::run_kvmrun({"qmp", qemu.qmp_socket().string(), "human-monitor-command",
                                        R"({"command-line": "info version"})"});
  ASSERT_EQ(hmp.exit_code, 0) << hmp.err;
  EXPECT_TRUE(boost::json::parse(hmp.out).is_string());
}

TEST(QmpCommand, AQmpErrorExitsWithTheQemuCodeAndItsClass) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  testing::QemuProcess qemu("none");
  const auto r = testing::run_kvmrun({"qmp", qemu.qmp_socket().string(), "no-such-command"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_NE(r.err.find("CommandNotFound"), std::string::npos) << r.err;
}

TEST(QmpCommand, EventsAreStreamedUntilQemuCloses) {
  if (!testing::have_qemu())
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  testing::QemuProcess qemu("none");
  const auto r = testing::run_kvmrun({"qmp", qemu.qmp_socket().string(), "quit", "--events"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"event\":\"SHUTDOWN\""), std::string::npos) << r.out;
}

TEST(QmpCommand, BadTargetsAndArgumentsAreClearErrors) {
  EXPECT_EQ(testing::run_kvmrun({"qmp", "/nonexistent/qmp.sock", "query-status"}).exit_code, 2);
  EXPECT_EQ(testing::run_kvmrun({"qmp"}).exit_code, 2);
  testing::TempDir dir;
  testing::write_file(dir / "lab.toml",
                      "[images.i]\nurl = \"/x\"\nchecksum = \"sha256:" + std::string(64, 'a') +
                          "\"\n[instances.web]\nimage = \"i\"\n");
  const auto stopped =
      testing::run_kvmrun({"qmp", "web", "query-status", "--config", (dir / "lab.toml").string()});
  EXPECT_EQ(stopped.exit_code, 7);
  EXPECT_NE(stopped.err.find("instance web is not running"), std::string::npos) << stopped.err;
  if (testing::have_qemu()) {
    testing::QemuProcess qemu("none");
    const auto bad =
        testing::run_kvmrun({"qmp", qemu.qmp_socket().string(), "query-status", "[1]"});
    EXPECT_EQ(bad.exit_code, 2);
  }
}

} // namespace
} // namespace kvmrun
