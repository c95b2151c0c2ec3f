#include "cli/lab_source.hpp"

#include "lab/loader.hpp"

namespace kvmrun::cli {

std::string default_lab_text(const std::filesystem::path& cache_dir) {
  const std::string guest = "file://" + (cache_dir / "guests" / "debian-12").string();
  return R"(# kvmrun's built-in default lab: one Debian 12 guest built from Debian packages.
[lab]
name = "default"

[images.debian-12]
url = ")" +
         guest + R"(/debian-12.qcow2"
checksum_url = ")" +
         guest + R"(/SHA512SUMS"

[instances.debian]
image = "debian-12"
cpus = 2
memory = "1GiB"
disk = "4GiB"
forwards = [{ host = 2222, guest = 22 }]
disks = [{ name = "data", size = "1GiB", filesystem = "ext4", mount = "/srv/data" }]

[instances.debian.cloud_init]
runcmd = ["echo provisioned by kvmrun > /var/tmp/kvmrun-provisioned"]
)";
}

Result<lab::LabSpec> resolve_lab(const ParsedArgs& args, const CliEnvironment& env) {
  if (const auto config = args.value("--config"))
    return lab::load_lab(*config);
  const auto local = env.working_dir / "kvmrun.toml";
  std::error_code ec;
  if (std::filesystem::exists(local, ec))
    return lab::load_lab(local);
  const auto cache = host::default_dirs(env.getenv, env.uid).cache;
  auto lab = lab::parse_lab(default_lab_text(cache), "<built-in default lab>");
  if (lab && !std::filesystem::exists(cache / "guests" / "debian-12" / "SHA512SUMS", ec))
    for (auto& [name, image] : lab->images)
      image.missing_remedy = "the default lab's image is built from Debian packages: run "
                             "scripts/run (or images/recipes/debian-12/build " +
                             cache.string() + "), or pass --config FILE";
  return lab;
}

} // namespace kvmrun::cli
