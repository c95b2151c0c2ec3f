#include "cli/lab_source.hpp"

#include "lab/builtin_images.hpp"
#include "lab/loader.hpp"

namespace kvmrun::cli {

std::string_view default_lab_text() {
  return R"(# kvmrun's built-in default lab: one Debian 12 guest (the built-in image debian-12).
[lab]
name = "default"

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

void resolve_builtin_images(lab::LabSpec& lab, const std::filesystem::path& cache_dir) {
  for (auto& [name, image] : lab.images) {
    if (image.recipe.empty())
      continue;
    const auto built = cache_dir / "guests" / image.recipe;
    const std::string recipe = "images/recipes/" + image.recipe + "/build";
    std::error_code ec;
    if (std::filesystem::exists(built / "SHA512SUMS", ec)) {
      image.url = "file://" + (built / (image.recipe + ".qcow2")).string();
      image.checksum_url = "file://" + (built / "SHA512SUMS").string();
      image.origin = "the local build of " + recipe + " (" + built.string() +
                     "), preferred to Debian's official cloud image";
      if (!image.interface_names_given)
        image.interface_names = lab::recipe_interface_names(image.recipe);
    } else {
      image.missing_remedy = "without internet access, build the same guest from Debian "
                             "packages: " +
                             recipe + " " + cache_dir.string() +
                             " (as root; scripts/run does it for debian-12)";
    }
  }
  lab::apply_interface_names(lab);
}

Result<lab::LabSpec> resolve_lab(const ParsedArgs& args, const CliEnvironment& env) {
  Result<lab::LabSpec> lab = Error(ErrorCode::internal, "no lab");
  const auto local = env.working_dir / "kvmrun.toml";
  const char* from_env = env.getenv("KVMRUN_CONFIG");
  std::error_code ec;
  if (const auto config = args.value("--config"))
    lab = lab::load_lab(*config);
  else if (from_env != nullptr && *from_env != '\0')
    lab = lab::load_lab(from_env);
  else if (std::filesystem::exists(local, ec))
    lab = lab::load_lab(local);
  else
    lab = lab::parse_lab(default_lab_text(), builtin_lab_source);
  if (lab)
    resolve_builtin_images(*lab, host::default_dirs(env.getenv, env.uid).cache);
  return lab;
}

} // namespace kvmrun::cli
