// `kvmrun seed INSTANCE -o FILE.iso [--print]`: one instance's cloud-init seed ISO.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "instance/seed_image.hpp"

namespace kvmrun::cli {

int run_seed(const ParsedArgs& args, std::ostream& out, std::ostream& err,
             const CliEnvironment& env) {
  if (args.positional.size() != 1)
    return fail(err, Error(ErrorCode::usage, "seed takes one instance name",
                           "kvmrun seed INSTANCE -o FILE.iso"));
  const auto output = args.value("--output");
  if (!output && !args.has("--print"))
    return fail(err, Error(ErrorCode::usage, "seed needs -o FILE.iso (or --print)"));
  auto found = one_instance(args, env, 0, "kvmrun seed INSTANCE -o FILE.iso");
  if (!found)
    return fail(err, found.error());
  if (auto s = give_lab_key(found->first); !s)
    return fail(err, s.error());
  const lab::InstanceSpec& instance = *found->second;
  for (const auto& warning : instance.warnings)
    err << "kvmrun: warning: " << warning << '\n';
  auto seed = instance::build_seed_image(instance);
  if (!seed)
    return fail(err, seed.error());
  if (args.has("--print"))
    out << "# meta-data\n"
        << seed->documents.meta_data << "# user-data\n"
        << seed->documents.user_data << "# network-config\n"
        << seed->documents.network_config;
  if (output) {
    // Seeds are derived from the lab and rewritten by every run: atomic, not fsynced.
    if (auto written = write_file_atomic(*output, seed->iso, 0600, Durability::regenerated);
        !written)
      return fail(
          err, std::move(written).error().add_context("writing the seed ISO of " + instance.name));
    out << "wrote " << *output << ": instance-id " << seed->documents.instance_id << ", "
        << seed->iso.size() << " bytes, sha256 " << sha256_hex(seed->iso) << '\n';
  }
  return 0;
}

} // namespace kvmrun::cli
