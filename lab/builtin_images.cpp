#include "lab/builtin_images.hpp"

#include <array>

namespace kvmrun::lab {

namespace {

struct Builtin {
  std::string_view name;
  std::string_view suite; // Debian's code name, part of the cloud image's URL
  // The recipe's build: debian-12 renders its network with networkd and renames; debian-13 with
  // netplan, as Debian's images do, and keeps the guest's predictable names.
  InterfaceNames recipe_names;
};

constexpr std::array<Builtin, 2> builtins = {{{"debian-12", "bookworm", InterfaceNames::kvmrun},
                                              {"debian-13", "trixie", InterfaceNames::guest}}};

} // namespace

std::optional<ImageSpec> builtin_image(std::string_view name) {
  for (const auto& b : builtins) {
    if (b.name != name)
      continue;
    const std::string base =
        "https://cloud.debian.org/images/cloud/" + std::string(b.suite) + "/latest/";
    ImageSpec spec;
    spec.name = std::string(name);
    spec.url = base + std::string(name) + "-genericcloud-amd64.qcow2";
    spec.checksum_url = base + "SHA512SUMS";
    spec.recipe = std::string(name);
    spec.origin = "Debian's official cloud image";
    return spec;
  }
  return std::nullopt;
}

InterfaceNames recipe_interface_names(std::string_view name) {
  for (const auto& b : builtins)
    if (b.name == name)
      return b.recipe_names;
  return InterfaceNames::guest;
}

std::string builtin_image_names() {
  std::string out;
  for (const auto& b : builtins)
    out.append(out.empty() ? "" : ", ").append(b.name);
  return out;
}

} // namespace kvmrun::lab
