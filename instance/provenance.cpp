#include "instance/provenance.hpp"

#include "base/file_io.hpp"
#include "base/json_record.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace kvmrun::instance {

boost::json::object to_json(const Provenance& p, bool with_argv) {
  boost::json::object doc{{"lab", p.lab},
                          {"instance", p.instance},
                          {"config_hash", p.config_hash},
                          {"base_digest", p.base_digest},
                          {"base_url", p.base_url},
                          {"seed_sha256", p.seed_sha256},
                          {"instance_id", p.instance_id}};
  if (!p.template_name.empty()) {
    doc["template"] = p.template_name;
    doc["template_instance_id"] = p.template_instance_id;
  }
  if (with_argv) {
    boost::json::array argv;
    for (const auto& a : p.argv)
      argv.emplace_back(a);
    doc["argv"] = std::move(argv);
  }
  return doc;
}

Status write_provenance(const std::filesystem::path& file, const Provenance& provenance) {
  return write_file_atomic(file, boost::json::serialize(to_json(provenance)) + "\n", 0600);
}

Result<Provenance> read_provenance(const std::filesystem::path& file) {
  auto record = JsonRecord::load(file, 1U << 20U);
  if (!record)
    return std::move(record).error();
  auto lab = record->string("lab");
  auto instance = record->string("instance");
  auto config_hash = record->string("config_hash");
  auto base_digest = record->string("base_digest");
  auto seed_sha256 = record->string("seed_sha256");
  auto instance_id = record->string("instance_id");
  auto argv = record->strings("argv");
  auto base_url = record->has("base_url") ? record->string("base_url") : Result<std::string>("");
  const auto optional = [&](std::string_view key) {
    return record->has(key) ? record->string(key) : Result<std::string>("");
  };
  auto template_name = optional("template");
  auto template_instance_id = optional("template_instance_id");
  if (auto e = first_error(lab, instance, config_hash, base_digest, seed_sha256, instance_id, argv,
                           base_url, template_name, template_instance_id))
    return *e;
  return Provenance{
      *lab,         *instance,    *config_hash, *base_digest,   *base_url,
      *seed_sha256, *instance_id, *argv,        *template_name, *template_instance_id};
}

} // namespace kvmrun::instance
