// Seed ISO build: kvmrun in-process (render the cloud-init documents, write the ISO) beside the
// traditional tools run on the same documents in the same process run: cloud-localds (a shell
// script around genisoimage) and xorriso -as mkisofs.
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "instance/seed_image.hpp"
#include "lab/loader.hpp"
#include "seeds/cloud_init.hpp"
#include "seeds/iso9660.hpp"

#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace {

using namespace kvmrun;

void must(const Status& status) {
  if (!status)
    throw std::runtime_error(status.error().describe());
}

// The observability example's instance: users, forwards, a data disk, packages, write_files.
const lab::InstanceSpec& typical_instance() {
  static const lab::LabSpec lab = [] {
    auto loaded = lab::load_lab(KVMRUN_SOURCE_DIR "/configs/observability.toml");
    if (!loaded)
      throw std::runtime_error(loaded.error().describe());
    return std::move(loaded).value();
  }();
  return lab.instances.front();
}

// The same instance with a 4 MiB script in write_files.
const lab::InstanceSpec& big_instance() {
  static const lab::InstanceSpec instance = [] {
    lab::InstanceSpec i = typical_instance();
    std::string script = "#!/bin/sh\n";
    for (int n = 0; script.size() < (4U << 20U); ++n)
      script += "echo 'provisioning step " + std::to_string(n) + "' >> /var/log/provision.log\n";
    i.seed.write_files.push_back(
        seeds::WriteFileSpec{"/opt/provision.sh", script, "0755", "root:root", false, false});
    return i;
  }();
  return instance;
}

std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = kvmrun::bench::make_scratch_dir("seed");
  return dir;
}

// The documents as files, for the external tools.
std::filesystem::path documents_dir(const lab::InstanceSpec& instance, std::string_view tag) {
  const auto dir = scratch_dir() / std::string(tag);
  std::filesystem::create_directories(dir);
  const auto docs = seeds::render_seed(instance.seed).value();
  for (const auto& f : seeds::seed_files(docs))
    must(write_file_atomic(dir / f.name, f.content));
  return dir;
}

void in_memory(benchmark::State& state, const lab::InstanceSpec& instance) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto image = instance::build_seed_image(instance);
    bytes = image->iso.size();
    benchmark::DoNotOptimize(image->iso.data());
  }
  state.counters["iso_bytes"] = static_cast<double>(bytes);
}

void to_disk(benchmark::State& state, const lab::InstanceSpec& instance) {
  const auto out = scratch_dir() / "kvmrun.iso";
  for (auto _ : state) {
    auto image = instance::build_seed_image(instance);
    // What `kvmrun seed` does: a 0600 temp file renamed over the target (no fsync: seeds are
    // rewritten by every run).
    must(write_file_atomic(out, image->iso, 0600, Durability::regenerated));
  }
}

void external(benchmark::State& state, const std::vector<std::string>& argv) {
  if (!find_executable(argv.front())) {
    state.SkipWithError((argv.front() + " is not installed").c_str());
    return;
  }
  for (auto _ : state) {
    const auto r = run_command(argv, CommandOptions{std::chrono::milliseconds(60000), 1U << 20U});
    if (!r || !r->success()) {
      state.SkipWithError((argv.front() + " failed").c_str());
      return;
    }
  }
}

std::vector<std::string> cloud_localds(const std::filesystem::path& docs) {
  return {"cloud-localds", (scratch_dir() / "cloud-localds.iso").string(),
          (docs / "user-data").string(), (docs / "meta-data").string(),
          "--network-config=" + (docs / "network-config").string()};
}

std::vector<std::string> xorriso_mkisofs(const std::filesystem::path& docs) {
  return {"xorriso", "-as",        "mkisofs",
          "-quiet",  "-o",         (scratch_dir() / "xorriso.iso").string(),
          "-V",      "cidata",     "-J",
          "-r",      docs.string()};
}

void BM_SeedTypical_Kvmrun_InMemory(benchmark::State& s) { in_memory(s, typical_instance()); }
void BM_SeedTypical_Kvmrun_ToDisk(benchmark::State& s) { to_disk(s, typical_instance()); }
void BM_SeedTypical_CloudLocalds(benchmark::State& s) {
  external(s, cloud_localds(documents_dir(typical_instance(), "typical")));
}
void BM_SeedTypical_XorrisoMkisofs(benchmark::State& s) {
  external(s, xorriso_mkisofs(documents_dir(typical_instance(), "typical")));
}
void BM_Seed4MiB_Kvmrun_InMemory(benchmark::State& s) { in_memory(s, big_instance()); }
void BM_Seed4MiB_Kvmrun_ToDisk(benchmark::State& s) { to_disk(s, big_instance()); }
void BM_Seed4MiB_CloudLocalds(benchmark::State& s) {
  external(s, cloud_localds(documents_dir(big_instance(), "big")));
}
void BM_Seed4MiB_XorrisoMkisofs(benchmark::State& s) {
  external(s, xorriso_mkisofs(documents_dir(big_instance(), "big")));
}

BENCHMARK(BM_SeedTypical_Kvmrun_InMemory)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SeedTypical_Kvmrun_ToDisk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SeedTypical_CloudLocalds)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SeedTypical_XorrisoMkisofs)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Seed4MiB_Kvmrun_InMemory)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Seed4MiB_Kvmrun_ToDisk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Seed4MiB_CloudLocalds)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Seed4MiB_XorrisoMkisofs)->Unit(benchmark::kMicrosecond)->UseRealTime();

} // namespace
