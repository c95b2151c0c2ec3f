#include "runner/image_command.hpp"

#include <chrono>
#include <cstdio>

namespace kvmrun::runner {

images::ImageSource image_source(const lab::ImageSpec& spec) {
  images::ImageSource s;
  s.name = spec.name;
  s.url = spec.url;
  if (spec.checksum)
    s.digest = images::ExpectedDigest{spec.checksum->algorithm, spec.checksum->hex};
  s.checksum_url = spec.checksum_url;
  s.format =
      spec.format == lab::ImageFormat::raw ? images::DiskFormat::raw : images::DiskFormat::qcow2;
  s.policy.allow_http = spec.allow_http;
  s.policy.ca_file = spec.ca_file;
  return s;
}

std::set<std::filesystem::path> bases_in_use(const std::filesystem::path& state_dir) {
  std::set<std::filesystem::path> used;
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(
      state_dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 6) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->path().extension() != ".qcow2")
      continue;
    auto chain = images::inspect_chain(it->path(), images::DiskFormat::qcow2);
    if (!chain)
      continue;
    for (std::size_t i = 1; i < chain->size(); ++i) {
      std::error_code cec;
      const auto canonical = std::filesystem::weakly_canonical((*chain)[i].path, cec);
      used.insert(cec ? (*chain)[i].path : canonical);
    }
  }
  return used;
}

images::ProgressSink terminal_progress(std::string label, bool is_terminal) {
  if (!is_terminal)
    return {};
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  auto started =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [label = std::move(label), last, started](std::uint64_t received, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const bool done = total > 0 && received >= total;
    if (now - *last < std::chrono::milliseconds(100) && !done)
      return;
    *last = now;
    const double seconds = std::chrono::duration<double>(now - *started).count();
    const double mib = static_cast<double>(received) / (1U << 20U);
    const double rate = seconds > 0 ? mib / seconds : 0.0;
    if (total > 0)
      std::fprintf(stderr, "\r%s %3.0f%% %8.1f / %.1f MiB %7.1f MiB/s", label.c_str(),
                   100.0 * static_cast<double>(received) / static_cast<double>(total), mib,
                   static_cast<double>(total) / (1U << 20U), rate);
    else
      std::fprintf(stderr, "\r%s %8.1f MiB %7.1f MiB/s", label.c_str(), mib, rate);
    if (done)
      std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

} // namespace kvmrun::runner
