// `kvmrun disk overlay|create|info`: qcow2 images made and inspected in-process.
#include "cli/commands.hpp"
#include "cli/views.hpp"
#include "images/overlay.hpp"
#include "images/qcow2.hpp"
#include "lab/values.hpp"

#include <algorithm>

namespace kvmrun::cli {

namespace {

// The format an option names (qcow2 when absent); a usage error for anything else.
Result<DiskFormat> format_option(const ParsedArgs& args, std::string_view option) {
  const auto text = args.value(option);
  if (!text)
    return DiskFormat::qcow2;
  const auto format = parse_disk_format(*text);
  if (!format)
    return Error(ErrorCode::usage, "unknown image format '" + *text + "'", "use qcow2 or raw");
  return *format;
}

Result<std::uint64_t> size_argument(const std::string& text, std::string_view example) {
  const auto size = lab::parse_size(text);
  if (!size)
    return Error(ErrorCode::usage, "'" + text + "' is not a size",
                 "write it like " + std::string(example));
  return *size;
}

int overlay(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const auto& pos = args.positional;
  const auto format = format_option(args, "--backing-format");
  if (!format)
    return fail(err, format.error());
  std::optional<std::uint64_t> size;
  if (const auto text = args.value("--size")) {
    auto parsed = size_argument(*text, "20GiB");
    if (!parsed)
      return fail(err, parsed.error());
    size = *parsed;
  }
  auto spec = images::plan_overlay(pos[1], *format, size);
  if (!spec)
    return fail(err, spec.error());
  if (auto made = images::create_qcow2(pos[2], *spec); !made)
    return fail(err, made.error());
  out << "created " << pos[2] << ": qcow2 overlay of " << spec->virtual_size << " bytes over "
      << spec->backing_file << " (" << to_string(*format) << ")\n";
  return 0;
}

int create(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const auto& pos = args.positional;
  const auto size = size_argument(pos[2], "10GiB");
  if (!size)
    return fail(err, size.error());
  images::Qcow2Spec spec;
  spec.virtual_size = (*size + 511) / 512 * 512;
  if (auto made = images::create_qcow2(pos[1], spec); !made)
    return fail(err, made.error());
  out << "created " << pos[1] << ": blank qcow2 disk of " << spec.virtual_size << " bytes\n";
  return 0;
}

int info(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  const auto format = format_option(args, "--format");
  if (!format)
    return fail(err, format.error());
  auto chain = images::inspect_chain(args.positional[1], *format);
  if (!chain)
    return fail(err, chain.error());
  out << (args.has("--json") ? render_chain_json(*chain) : render_chain_text(*chain));
  const bool unsafe = std::any_of(chain->begin(), chain->end(),
                                  [](const images::ImageInfo& i) { return !i.problems.empty(); });
  return unsafe ? exit_code(ErrorCode::disk) : 0;
}

} // namespace

int run_disk(const ParsedArgs& args, std::ostream& out, std::ostream& err, const CliEnvironment&) {
  const auto& pos = args.positional;
  const std::string sub = pos.empty() ? "" : pos.front();
  if (sub == "overlay" && pos.size() == 3)
    return overlay(args, out, err);
  if (sub == "create" && pos.size() == 3)
    return create(args, out, err);
  if (sub == "info" && pos.size() == 2)
    return info(args, out, err);
  return fail(err, Error(ErrorCode::usage, "usage: kvmrun disk overlay BASE OUT | disk create OUT "
                                           "SIZE | disk info FILE"));
}

} // namespace kvmrun::cli
