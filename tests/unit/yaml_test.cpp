#include "seeds/yaml.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace kvmrun::seeds {
namespace {

std::string yaml(std::string_view json) {
  auto r = to_yaml(boost::json::parse(json));
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : "";
}

TEST(Yaml, EmitsBlockMappingsAndSequencesInInsertionOrder) {
  EXPECT_EQ(yaml(R"({"hostname":"web-1","packages":["curl","jq"],"apt":{"proxy":"x"}})"),
            "hostname: web-1\npackages:\n  - curl\n  - jq\napt:\n  proxy: x\n");
}

TEST(Yaml, PutsMappingsInsideSequencesOnTheDashLine) {
  EXPECT_EQ(yaml(R"({"users":[{"name":"ann","groups":["sudo"]},{"name":"bob"}]})"),
            "users:\n  - name: ann\n    groups:\n      - sudo\n  - name: bob\n");
  EXPECT_EQ(yaml(R"([["a","b"],[]])"), "- - a\n  - b\n- []\n");
}

TEST(Yaml, QuotesEverythingAYaml11ParserWouldReadAsAnotherType) {
  EXPECT_EQ(yaml(R"({"a":"yes","b":"no","c":"on","d":"null","e":"~","f":"123","g":"1e3"})"),
            "a: \"yes\"\nb: \"no\"\nc: \"on\"\nd: \"null\"\ne: \"~\"\nf: \"123\"\ng: \"1e3\"\n");
  EXPECT_EQ(yaml(R"({"t":"2001-12-14","s":"1:20","n":"","y":"Y"})"),
            "t: \"2001-12-14\"\ns: \"1:20\"\n\"n\": \"\"\n\"y\": \"Y\"\n");
}

TEST(Yaml, KeepsRealScalarsUnquoted) {
  EXPECT_EQ(yaml(R"({"b":true,"f":false,"i":42,"z":null,"o":{},"l":[]})"),
            "b: true\nf: false\ni: 42\nz: null\no: {}\nl: []\n");
}

TEST(Yaml, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(yaml(R"({"k":"a \"b\" \\ c\u0001\u007f\r"})"),
            "k: \"a \\\"b\\\" \\\\ c\\x01\\x7F\\r\"\n");
  EXPECT_EQ(yaml(R"({"k":"x\u2028y\u0085z\ufeff"})"), "k: \"x\\u2028y\\u0085z\\uFEFF\"\n");
}

TEST(Yaml, WritesMultiLineTextAsALiteralBlockWithTheRightChomping) {
  EXPECT_EQ(yaml(R"({"s":"#!/bin/sh\necho hi\n"})"), "s: |\n  #!/bin/sh\n  echo hi\n");
  EXPECT_EQ(yaml(R"({"s":"a\nb"})"), "s: |-\n  a\n  b\n");
  EXPECT_EQ(yaml(R"({"s":"a\n\nb\n\n\n"})"), "s: |+\n  a\n\n  b\n\n\n");
  EXPECT_EQ(yaml(R"(["x\n  y\n"])"), "- |\n  x\n    y\n");
}

TEST(Yaml, FallsBackToQuotingWhenALiteralBlockCouldNotHoldTheText) {
  EXPECT_EQ(yaml(R"({"s":" leading\nspace"})"), "s: \" leading\\nspace\"\n");
  EXPECT_EQ(yaml(R"({"s":"cr\r\nlf"})"), "s: \"cr\\r\\nlf\"\n");
  EXPECT_EQ(yaml(R"({"s":"a\n  "})"), "s: \"a\\n  \"\n");
}

TEST(Yaml, QuotesKeysThatAreNotPlainWords) {
  EXPECT_EQ(yaml(R"({"a: b":1,"- x":2,"on":3})"), "\"a: b\": 1\n\"- x\": 2\n\"on\": 3\n");
}

TEST(Yaml, RejectsInvalidUtf8) {
  const auto r = to_yaml(boost::json::value("\xff\xfe"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::config);
}

TEST(Utf8, AcceptsValidAndRejectsInvalidSequences) {
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));     // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));         // truncated
}

} // namespace
} // namespace kvmrun::seeds
