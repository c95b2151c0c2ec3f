// The serial console watch following a real file through inotify, as QEMU writes its console
// log: output of earlier boots before `from` is never matched, text written a byte at a time is
// found, a missing log is an io error, and a wait gives up when told to.
#include "base/file_io.hpp"
#include "readiness/serial_watch.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <thread>

namespace kvmrun::readiness {
namespace {

using namespace std::chrono_literals;

void append(const std::filesystem::path& file, std::string_view text, bool byte_at_a_time) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = byte_at_a_time ? 1 : text.size() - i;
    ASSERT_EQ(::write(fd, text.data() + i, n), static_cast<ssize_t>(n));
    i += n;
  }
  ::close(fd);
}

TEST(SerialWatch, FindsThisBootsTextWrittenAByteAtATimeAndNotAnEarlierBoots) {
  testing::TempDir dir;
  const auto log = dir / "serial.log";
  const std::string earlier = "Linux version 6.1 (earlier boot)\nkvmrun-ready instance-id=old\n";
  testing::write_file(log, earlier);
  EventLoop loop;
  SerialWatch watch(loop);
  ASSERT_TRUE(watch.follow(log, earlier.size()).ok());
  EXPECT_TRUE(watch.silent());
  EXPECT_FALSE(watch.seen("Linux version"));

  std::thread guest([&] {
    std::this_thread::sleep_for(50ms);
    append(log, "\x1b[0mSeaBIOS\r\nLinux version 6.1\r\n", true);
    append(log, "login: \r\nkvmrun-ready instance-id=new\r\n", true);
  });
  const bool found =
      watch.wait_for("kvmrun-ready instance-id=new", deadline_after(10s), [] { return false; });
  guest.join();
  EXPECT_TRUE(found);
  EXPECT_TRUE(watch.seen("Linux version 6.1\r\n"));
  EXPECT_FALSE(watch.seen("earlier boot"));
  EXPECT_FALSE(watch.seen("instance-id=old"));
  EXPECT_EQ(watch.tail(2), "login: \nkvmrun-ready instance-id=new\n");
}

TEST(SerialWatch, WhatWasWrittenBeforeTheWatchStartedIsReadAtOnce) {
  testing::TempDir dir;
  const auto log = dir / "serial.log";
  testing::write_file(log, "old\nLinux version 6.1\n");
  EventLoop loop;
  SerialWatch watch(loop);
  ASSERT_TRUE(watch.follow(log, 4).ok());
  EXPECT_TRUE(watch.seen("Linux version"));
  EXPECT_FALSE(watch.seen("old"));
}

TEST(SerialWatch, AMissingLogIsAnIoErrorNamingIt) {
  testing::TempDir dir;
  EventLoop loop;
  SerialWatch watch(loop);
  const auto s = watch.follow(dir / "nope.log", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::io);
  EXPECT_NE(s.error().message().find("nope.log"), std::string::npos) << s.error().message();
}

TEST(SerialWatch, AWaitGivesUpWhenToldTo) {
  testing::TempDir dir;
  const auto log = dir / "serial.log";
  testing::write_file(log, "");
  EventLoop loop;
  SerialWatch watch(loop);
  ASSERT_TRUE(watch.follow(log, 0).ok());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(watch.wait_for("never", deadline_after(60s), [] { return true; }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

} // namespace
} // namespace kvmrun::readiness
