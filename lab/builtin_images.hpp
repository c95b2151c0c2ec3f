// The images a lab may name without an [images] table: Debian's official cloud images, each
// with the kvmrun recipe (images/recipes/<name>) that builds the same guest from Debian
// packages on a host without internet access. One table: the loader fills a lab's image from
// it, `resolve_lab` (cli/lab_source) prefers the recipe's cached build when there is one.
#pragma once

#include "lab/lab_spec.hpp"

#include <optional>
#include <string_view>

namespace kvmrun::lab {

// The official image named `name` (url, checksum manifest, recipe), or nullopt.
[[nodiscard]] std::optional<ImageSpec> builtin_image(std::string_view name);

// How the recipe's own build of built-in image `name` names its NICs (the official images
// leave it to the guest).
[[nodiscard]] InterfaceNames recipe_interface_names(std::string_view name);

// The names, for messages ("debian-12, debian-13").
[[nodiscard]] std::string builtin_image_names();

} // namespace kvmrun::lab
