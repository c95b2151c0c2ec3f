#include "base/json_record.hpp"

#include <gtest/gtest.h>

namespace kvmrun {
namespace {

JsonRecord parsed(std::string_view text) {
  auto r = JsonRecord::parse(text, "rec.json");
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : *JsonRecord::parse("{}", "empty");
}

TEST(JsonRecord, AnEmptyTruncatedOrNonObjectFileIsAnIoErrorNamingIt) {
  for (const std::string_view text : {"", "{\"lab\": \"a\"", "[1, 2]", "42", "nul"}) {
    const auto r = JsonRecord::parse(text, "/s/provenance.json");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::io);
    EXPECT_EQ(r.error().message().rfind("/s/provenance.json ", 0), 0U) << r.error().message();
    EXPECT_NE(r.error().remedy().find("edited by hand"), std::string::npos);
  }
  EXPECT_NE(JsonRecord::parse("", "f").error().message().find("the file is empty"),
            std::string::npos);
  EXPECT_NE(JsonRecord::parse("[1]", "f").error().message().find("holds an array"),
            std::string::npos);
}

TEST(JsonRecord, EachAccessorNamesTheFieldAndWhatItFoundInstead) {
  const auto rec = parsed(R"({"s": "x", "n": 42, "f": 1.5, "a": ["x", 3], "o": {"k": 1}})");
  EXPECT_EQ(*rec.string("s"), "x");
  EXPECT_EQ(*rec.integer("n"), 42);
  EXPECT_EQ(rec.string("n").error().message(), "rec.json: field \"n\" is a number, not a string");
  EXPECT_EQ(rec.string("missing").error().message(), "rec.json: field \"missing\" is missing");
  EXPECT_EQ(rec.integer("f").error().message(),
            "rec.json: field \"f\" is not a whole number, not an integer");
  EXPECT_EQ(rec.integer("s").error().message(),
            "rec.json: field \"s\" is a string, not an integer");
  EXPECT_EQ(rec.strings("a").error().message(),
            "rec.json: field \"a\" holds a number where a string belongs");
  EXPECT_EQ(rec.object("s").error().message(), "rec.json: field \"s\" is a string, not an object");
  EXPECT_EQ(rec.objects("o").error().message(),
            "rec.json: field \"o\" is an object, not an array of objects");
  EXPECT_EQ(rec.string("n").error().code(), ErrorCode::io);
}

TEST(JsonRecord, NestedRecordsNameTheirPlaceInTheFile) {
  const auto rec = parsed(R"({"stage_ms": {"x": "slow"}, "slowest": [{"name": 1}]})");
  const auto stages = rec.object("stage_ms");
  ASSERT_TRUE(stages.ok());
  EXPECT_EQ(stages->integer("x").error().message(),
            "rec.json: stage_ms: field \"x\" is a string, not an integer");
  const auto slowest = rec.objects("slowest");
  ASSERT_TRUE(slowest.ok());
  EXPECT_EQ(slowest->at(0).string("name").error().message(),
            "rec.json: slowest[0]: field \"name\" is a number, not a string");
}

TEST(JsonRecord, LoadingAMissingFileIsAnIoError) {
  const auto r = JsonRecord::load("/nonexistent/summary.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::io);
}

} // namespace
} // namespace kvmrun
