// The YAML kvmrun writes, read by PyYAML (cloud-init's parser): exactly the intended structure.
#include "seeds/yaml.hpp"
#include "tests/support/hostile_strings.hpp"
#include "tests/support/pyyaml.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace kvmrun::seeds {
namespace {

void expect_round_trip(const boost::json::value& doc) {
  if (!testing::python_with_yaml())
    GTEST_SKIP() << "no python3 with PyYAML (scripts/setup-deps installs python3-yaml)";
  const auto text = to_yaml(doc);
  ASSERT_TRUE(text.ok()) << text.error().describe();
  const auto parsed = testing::pyyaml_load(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe() << "\n" << *text;
  EXPECT_EQ(*parsed, doc) << *text;
}

TEST(PyYaml, ReadsHostileStringsBackExactlyAsValuesKeysAndListItems) {
  const auto strings = testing::hostile_strings(600);
  boost::json::array values;
  boost::json::object keyed;
  boost::json::array nested;
  for (const auto& s : strings) {
    values.emplace_back(s);
    keyed[s] = s;
    nested.push_back(boost::json::array{s, boost::json::object{{"k", s}, {"l", {s}}}});
  }
  expect_round_trip(boost::json::object{{"values", values}, {"keyed", keyed}, {"nested", nested}});
}

TEST(PyYaml, ReadsScriptsAndNestedStructuresBack) {
  expect_round_trip(boost::json::parse(R"({
    "write_files": [{"path": "/etc/x.sh", "content": "#!/bin/sh\nset -e\n\techo 'a: b' # c\n\n\n",
                     "permissions": "0755"}],
    "runcmd": [["sh", "-c", "echo hi > /x"], "echo $HOME", "- not a list"],
    "empty": {}, "none": null, "n": 5, "yes": true, "list": [[], {}, [[1, 2], {"a": []}]]
  })"));
}

} // namespace
} // namespace kvmrun::seeds
