// The record of forwards added at run time: written and read back, absent means none, and a
// damaged or edited record is an io error naming the file, never an abort.
#include "base/file_io.hpp"
#include "instance/runtime_forwards.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace kvmrun::instance {
namespace {

TEST(RuntimeForwards, WrittenReadBackAndAbsentMeansNone) {
  testing::TempDir dir;
  const InstancePaths paths{dir / "state", dir / "run"};
  std::filesystem::create_directories(paths.runtime);
  auto none = read_runtime_forwards(paths);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  const std::vector<lab::PortForward> two{{lab::Protocol::tcp, "127.0.0.1", 8080, 80},
                                          {lab::Protocol::udp, "0.0.0.0", 5353, 53}};
  ASSERT_TRUE(write_runtime_forwards(paths, two).ok());
  auto back = read_runtime_forwards(paths);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  ASSERT_EQ(back->size(), 2U);
  EXPECT_EQ(lab::forward_text((*back)[0]), "127.0.0.1:8080->80");
  EXPECT_EQ(lab::forward_text((*back)[1]), "0.0.0.0:5353->53/udp");
}

TEST(RuntimeForwards, ADamagedRecordIsAnIoErrorNamingTheFile) {
  testing::TempDir dir;
  const InstancePaths paths{dir / "state", dir / "run"};
  for (
      const std::string text :
      {"", "{", "[]", "{\"forwards\":7}", "{\"forwards\":[{\"host_port\":1}]}",
       R"({"forwards":[{"host_address":"127.0.0.1","host_port":0,"guest_port":1,"protocol":"tcp"}]})",
       R"({"forwards":[{"host_address":"127.0.0.1","host_port":1,"guest_port":1,"protocol":"sctp"}]})"}) {
    testing::write_file(paths.runtime_forwards(), text);
    const auto r = read_runtime_forwards(paths);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::io) << text;
    EXPECT_NE(r.error().message().find("forwards.json"), std::string::npos) << r.error().message();
  }
}

} // namespace
} // namespace kvmrun::instance
