#include "tests/support/hostile_strings.hpp"

#include <array>
#include <random>

namespace kvmrun::testing {

std::vector<std::string> hostile_strings(std::size_t count, unsigned seed) {
  static const std::array<std::string, 52> pieces{":",
                                                  ": ",
                                                  "#",
                                                  " #",
                                                  "- ",
                                                  "-",
                                                  "? ",
                                                  "\n",
                                                  "\n\n",
                                                  "\t",
                                                  " ",
                                                  "  ",
                                                  "'",
                                                  "\"",
                                                  "\\",
                                                  "{",
                                                  "}",
                                                  "[",
                                                  "]",
                                                  ",",
                                                  "&a",
                                                  "*a",
                                                  "!!str",
                                                  "|",
                                                  ">",
                                                  "%",
                                                  "@",
                                                  "`",
                                                  "yes",
                                                  "No",
                                                  "ON",
                                                  "null",
                                                  "~",
                                                  "0x1F",
                                                  "1e3",
                                                  "012",
                                                  "2001-12-14",
                                                  "1:20",
                                                  ".inf",
                                                  "caf\xc3\xa9",
                                                  "\xe2\x80\xa8",
                                                  "\xc2\x85",
                                                  "\r",
                                                  std::string(1, '\0'),
                                                  "\x7f",
                                                  "\xef\xbb\xbf",
                                                  "\xf0\x9f\x98\x80",
                                                  "---",
                                                  "...",
                                                  "<<",
                                                  "x",
                                                  "$(reboot)"};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> piece(0, pieces.size() - 1);
  std::uniform_int_distribution<int> length(1, 8);
  std::vector<std::string> out(pieces.begin(), pieces.end());
  while (out.size() < count) {
    std::string s;
    for (int n = length(rng); n > 0; --n)
      s += pieces[piece(rng)];
    out.push_back(s);
  }
  return out;
}

} // namespace kvmrun::testing
