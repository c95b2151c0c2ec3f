// libFuzzer: the guest agent's replies as kvmrun reads them (qmp/agent_commands.hpp's `reply`
// readers). The guest is not trusted: any JSON value must give a typed result or a protocol
// error, never an exception or a crash; a result read twice is the same.
#include "qmp/agent_commands.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

template <typename R> void same(const R& a, const R& b) {
  if (a.ok() != b.ok())
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::json::error_code ec;
  const auto v =
      boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec)
    return 0;
  namespace reply = kvmrun::qmp::reply;
  (void)reply::time(v);
  (void)reply::info(v);
  (void)reply::osinfo(v);
  (void)reply::file_handle(v);
  (void)reply::file_written(v);
  (void)reply::exec_pid(v);
  const auto ifaces = reply::interfaces(v);
  same(ifaces, reply::interfaces(v));
  const auto status = reply::exec_status(v);
  same(status, reply::exec_status(v));
  const auto chunk = reply::file_chunk(v);
  same(chunk, reply::file_chunk(v));
  return 0;
}
