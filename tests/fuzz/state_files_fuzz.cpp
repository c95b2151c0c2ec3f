// libFuzzer: kvmrun's own state and evidence files read back (they may be torn or edited by
// hand: an error naming the file, never a crash). The first byte picks the reader, the rest is
// the file: an instance's provenance.json; a run's summary.json and timings.jsonl (split at the
// first 0xFF byte), read as `report --html`/`--junit` and metrics read them; a template's
// record (template.json, byte 3); or any JSON record with every field read as each type.
#include "base/file_io.hpp"
#include "base/json_record.hpp"
#include "evidence/run_records.hpp"
#include "instance/provenance.hpp"
#include "templates/record.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string name = "/tmp/kvmrun-fuzz-XXXXXX";
    if (::mkdtemp(name.data()) == nullptr)
      std::abort();
    return std::filesystem::path(name);
  }();
  return dir;
}

void put(const std::string& name, std::string_view bytes) {
  if (!kvmrun::write_file_atomic(scratch() / name, bytes, 0600, kvmrun::Durability::regenerated)
           .ok())
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
  case 0: {
    put("provenance.json", body);
    (void)kvmrun::instance::read_provenance(scratch() / "provenance.json");
    break;
  }
  case 1: {
    const auto cut = body.find('\xff');
    put("summary.json", body.substr(0, cut));
    put("timings.jsonl", cut == std::string_view::npos ? std::string_view() : body.substr(cut + 1));
    if (auto run = kvmrun::evidence::read_run_records(scratch()))
      (void)kvmrun::evidence::instances_of(*run);
    break;
  }
  case 3: {
    const auto file = kvmrun::templates::record_file(scratch());
    put(file.filename().string(), body);
    (void)kvmrun::templates::read_record(scratch());
    break;
  }
  default: {
    auto record = kvmrun::JsonRecord::parse(body, "fuzz");
    if (!record)
      break;
    for (const auto& [key, value] : record->fields()) {
      (void)record->string(key);
      (void)record->integer(key);
      (void)record->strings(key);
      (void)record->object(key);
      (void)record->objects(key);
    }
  }
  }
  return 0;
}
