// The guest agent's replies read as kvmrun reads them: what a real qemu-ga sends gives typed
// values; what a hostile or broken guest sends (fractions, numbers past int64, wrong types,
// bad base64) gives a protocol error or an absent value, never an exception.
#include "qmp/agent_commands.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kvmrun::qmp {
namespace {

boost::json::value json(std::string_view text) { return boost::json::parse(text); }

TEST(AgentReplies, WhatQemuGaSendsIsReadAsTyped) {
  const auto s = reply::exec_status(json(
      R"({"exited":true,"exitcode":3,"out-data":"aGVsbG8K","err-data":"","err-truncated":true})"));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->exited);
  EXPECT_EQ(s->exit_code, 3);
  EXPECT_EQ(s->out, "hello\n");
  EXPECT_TRUE(s->truncated);
  const auto ifaces = reply::interfaces(json(
      R"([{"name":"eth0","hardware-address":"52:54:00:12:34:56","ip-addresses":[{"ip-address":"10.0.2.15","prefix":24}],"statistics":{"rx-bytes":18446744073709551615,"tx-bytes":7}}])"));
  ASSERT_TRUE(ifaces.ok());
  ASSERT_EQ(ifaces->size(), 1U);
  EXPECT_EQ((*ifaces)[0].addresses, std::vector<std::string>{"10.0.2.15/24"});
  EXPECT_EQ((*ifaces)[0].rx_bytes, 18446744073709551615ULL);
  EXPECT_EQ((*ifaces)[0].tx_bytes, 7U);
  EXPECT_EQ(reply::file_handle(json("1000")).value(), 1000);
  EXPECT_EQ(reply::file_written(json(R"({"count":5,"eof":false})")), 5);
  const auto chunk = reply::file_chunk(json(R"({"count":2,"buf-b64":"aGk=","eof":true})"));
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->bytes, "hi");
  EXPECT_TRUE(chunk->eof);
}

TEST(AgentReplies, HostileNumbersAndTypesAreRefusedWithoutThrowing) {
  // boost::json's to_number threw on these before: an exception out of a gate thread.
  EXPECT_EQ(reply::exec_pid(json(R"({"pid":1.5})")).error().code(), ErrorCode::protocol);
  EXPECT_EQ(reply::exec_pid(json(R"({"pid":18446744073709551615})")).error().code(),
            ErrorCode::protocol);
  EXPECT_EQ(reply::file_handle(json("1e300")).error().code(), ErrorCode::protocol);
  EXPECT_EQ(reply::time(json("\"now\"")).error().code(), ErrorCode::protocol);
  EXPECT_FALSE(reply::file_written(json(R"({"count":0.5})")).has_value());
  const auto s = reply::exec_status(json(R"({"exited":true,"exitcode":4294967296,"signal":1e9})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->exit_code, -1) << "an exit code beyond int is no exit code";
  EXPECT_EQ(s->signal, 0);
  EXPECT_EQ(reply::exec_status(json(R"({"exited":true,"out-data":"!!"})")).error().code(),
            ErrorCode::protocol);
  const auto ifaces = reply::interfaces(json(
      R"([1,{"name":"x","ip-addresses":[{"ip-address":"a","prefix":2.5}],"statistics":{"rx-bytes":-1}}])"));
  ASSERT_TRUE(ifaces.ok());
  ASSERT_EQ(ifaces->size(), 1U);
  EXPECT_EQ((*ifaces)[0].addresses, std::vector<std::string>{"a/?"});
  EXPECT_FALSE((*ifaces)[0].rx_bytes.has_value());
  EXPECT_EQ(reply::interfaces(json("{}")).error().code(), ErrorCode::protocol);
  EXPECT_EQ(reply::info(json("[]")).error().code(), ErrorCode::protocol);
  EXPECT_EQ(reply::osinfo(json("null")).error().code(), ErrorCode::protocol);
}

} // namespace
} // namespace kvmrun::qmp
