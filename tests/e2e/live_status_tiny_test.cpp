// up's live status lines with the tiny guest: on a terminal (script(1) gives up a pty) a line per
// instance is redrawn in place while the gates run; with standard output a pipe, or with --json,
// there is none.
#include "tests/e2e/lab_harness.hpp"

#include <boost/json.hpp>

namespace kvmrun::testing {
namespace {

// What `shell_command` wrote to a 100-column terminal.
std::string on_a_terminal(const Lab& lab, const std::string& shell_command) {
  const auto typescript = lab.config().parent_path() / "typescript";
  const auto r =
      run_command({"script", "-qfec", "stty cols 100; " + shell_command, typescript.string()},
                  CommandOptions{std::chrono::minutes(5), 1U << 20U});
  EXPECT_TRUE(r.ok() && r->success()) << (r.ok() ? r->out + r->err : r.error().describe());
  auto text = read_file(typescript, 16U << 20U);
  return text ? *text : std::string();
}

TEST(TinyLiveStatus, OnATerminalUpRedrawsALinePerInstanceAndNeverInPipesOrJson) {
  Lab lab(one_tiny_lab("live"));
  const auto tty = on_a_terminal(lab, shell_words(lab.argv({"up"})));
  EXPECT_NE(tty.find("  tiny-1       ok   agent"), std::string::npos) << tty;
  // The board: the gate waited on, its time against the timeout, the console's last line, and
  // the cursor moved up to redraw it in place.
  EXPECT_NE(tty.find("  tiny-1       boot        "), std::string::npos) << tty;
  EXPECT_NE(tty.find(" s of 300 s "), std::string::npos) << tty;
  EXPECT_NE(tty.find("| [    "), std::string::npos) << tty; // a kernel message, live
  EXPECT_NE(tty.find("\033[1A\033[J"), std::string::npos) << tty;
  ASSERT_EQ(lab.run({"down"}).exit_code, 0);

  const auto piped = lab.run({"up"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out.find('\033'), std::string::npos) << piped.out;
  EXPECT_EQ(piped.out.find(" s of "), std::string::npos) << piped.out;
  ASSERT_EQ(lab.run({"down"}).exit_code, 0);

  // --json on a terminal: every line is an event, and nothing is drawn among them.
  const auto json = on_a_terminal(lab, shell_words(lab.argv({"up", "--json"})) + " 2>/dev/null");
  EXPECT_EQ(json.find('\033'), std::string::npos) << json;
  std::size_t events = 0, from = json.find('\n') + 1; // after script's header line
  for (auto nl = json.find('\n', from); nl != std::string::npos; nl = json.find('\n', from)) {
    std::string line = json.substr(from, nl - from);
    from = nl + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line.rfind("Script done", 0) == 0)
      continue;
    boost::system::error_code ec;
    (void)boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not an event: " << line;
    ++events;
  }
  EXPECT_GT(events, 10U) << json;
  EXPECT_EQ(lab.run({"down"}).exit_code, 0);
}

// `up -- COMMAND` on a terminal: the command's process group is the terminal's foreground group
// (so it reads the terminal and ^C reaches it), and the terminal comes back to the shell after.
TEST(TinyLiveStatus, OnATerminalTheCommandAfterDashDashHoldsTheTerminalAndItComesBack) {
  Lab lab(one_tiny_lab("termwork"));
  // Fields 5 and 8 of /proc/PID/stat: the process group and the terminal's foreground group.
  // What is echoed is computed, so the command line kvmrun prints cannot pass for it.
  const std::string foreground =
      R"(read -r _ _ _ _ pg _ _ tp _ < /proc/$$/stat; [ "$pg" = "$tp" ] && echo)";
  const auto tty = on_a_terminal(
      lab,
      shell_words(lab.argv({"up", "--", "/bin/sh", "-c", foreground + " command-holds-$((6*7))"})) +
          "; " + foreground + " shell-holds-$((6*7))");
  EXPECT_NE(tty.find("command-holds-42"), std::string::npos) << tty;
  EXPECT_NE(tty.find("shell-holds-42"), std::string::npos) << tty;
  EXPECT_NE(tty.find("  tiny-1: stopped"), std::string::npos) << tty;
}

} // namespace
} // namespace kvmrun::testing
