// up's live status lines: the line's layout and cut, the console's last line, and the board
// drawn and erased in place (or, disabled, only the plain lines).
#include "cli/live_status.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace kvmrun::cli {
namespace {

using namespace std::chrono_literals;

TEST(LiveStatus, ALineNamesTheGateTheTimeAgainstItsTimeoutAndTheConsoleCutToTheWidth) {
  EXPECT_EQ(status_line("web", "agent", 12345ms, 300s, "login:", 80),
            "  web          agent       12 s of 300 s  | login:");
  EXPECT_EQ(status_line("web", "", 0ms, 0ms, "", 80), "  web          ...         0 s of 0 s     ");
  // Cut to one column less than the terminal (no line wraps), by characters, not bytes.
  const auto cut = status_line("web", "boot", 1s, 2s, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 48);
  EXPECT_EQ(cut, "  web          boot        1 s of 2 s     | \xc3\xa9\xc3\xa9\xc3\xa9");
}

TEST(LiveStatus, TheConsolesLastLineIsPrintableAndReadFromTheEnd) {
  testing::TempDir dir;
  testing::write_file(dir / "serial.log",
                      std::string(10000, 'x') + "\n[    1.0] booting\r\n\x1b[1mlogin:\x1b[0m ");
  EXPECT_EQ(last_console_line(dir / "serial.log"), "login: ");
  EXPECT_EQ(last_console_line(dir / "missing.log"), "");
}

TEST(LiveStatus, DisabledItPrintsOnlyThePlainLines) {
  std::ostringstream out;
  {
    LiveStatus live(out, false, 80);
    live.add("web", "/nonexistent");
    live.waiting("web", "boot", 60s);
    live.print("  web          ok   boot     1.0 s");
    live.finished("web");
  }
  EXPECT_EQ(out.str(), "  web          ok   boot     1.0 s\n");
}

TEST(LiveStatus, EnabledTheBoardIsRedrawnUnderEachLineAndErasedAtTheEnd) {
  std::ostringstream out;
  {
    LiveStatus live(out, true, 80);
    live.add("web", "/nonexistent");
    live.add("db", "/nonexistent");
    live.waiting("web", "boot", 60s);
    live.print("first result");
    live.finished("web");
    live.finished("db");
  }
  const auto text = out.str();
  const auto line = text.find("first result\n");
  ASSERT_NE(line, std::string::npos) << text;
  EXPECT_NE(text.find("  web          boot        0 s of 60 s    \n", line), std::string::npos)
      << text;
  EXPECT_NE(text.find("\033[2A\033[J"), std::string::npos) << "two lines erased in place";
  // At the end, nothing of the board is left on the screen: the last thing is an erase.
  EXPECT_EQ(text.substr(text.size() - 4), "A\033[J") << text;
}

} // namespace
} // namespace kvmrun::cli
