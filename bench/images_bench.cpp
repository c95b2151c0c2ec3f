// Images: overlay creation in-process beside `qemu-img create`, and digest throughput (in
// memory, and streamed through the libcurl download path) beside sha512sum and openssl dgst.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "images/download.hpp"
#include "images/overlay.hpp"
#include "images/qcow2.hpp"

#include "bench/scratch.hpp"

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstring>
#include <random>
#include <stdexcept>

namespace {

using namespace kvmrun;

void must(const Status& status) {
  if (!status)
    throw std::runtime_error(status.error().describe());
}

std::filesystem::path scratch() {
  static const std::filesystem::path dir = kvmrun::bench::make_scratch_dir("img");
  return dir;
}

// A 20 GiB qcow2 base, as cloud images are (kvmrun's own blank image: only its header matters).
std::filesystem::path base_image() {
  static const std::filesystem::path base = [] {
    const auto p = scratch() / "base.qcow2";
    must(images::create_qcow2(p, images::Qcow2Spec{20ULL << 30U, 16, "", DiskFormat::qcow2}));
    return p;
  }();
  return base;
}

// 256 MiB of pseudo-random bytes in a file (in the page cache after the first read).
std::filesystem::path data_file() {
  static const std::filesystem::path file = [] {
    const auto p = scratch() / "data.bin";
    std::string data(256U << 20U, '\0');
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
      const auto v = rng();
      std::memcpy(data.data() + i, &v, 8);
    }
    must(write_file_atomic(p, data, 0644));
    return p;
  }();
  return file;
}

void overlay(benchmark::State& state, Durability durability) {
  const auto out = scratch() / "overlay-kvmrun.qcow2";
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove(out);
    state.ResumeTiming();
    // What `kvmrun disk overlay` does: inspect the base header, build, write (and flush).
    auto spec = images::plan_overlay(base_image(), DiskFormat::qcow2, std::nullopt);
    must(images::create_qcow2(out, *spec, durability));
  }
}

// Written and renamed into place, not flushed: provisioning flushes an instance's files once.
void BM_Overlay_Kvmrun_Written(benchmark::State& s) { overlay(s, Durability::regenerated); }
// Flushes the file as qemu-img does (it fdatasyncs the image, not the directory).
void BM_Overlay_Kvmrun_FileSynced(benchmark::State& s) { overlay(s, Durability::file_synced); }
// Also flushes the directory: what `kvmrun disk overlay` does on its own.
void BM_Overlay_Kvmrun_Durable(benchmark::State& s) { overlay(s, Durability::durable); }

void BM_Overlay_QemuImgCreate(benchmark::State& state) {
  if (!find_executable("qemu-img")) {
    state.SkipWithError("qemu-img is not installed");
    return;
  }
  const auto out = scratch() / "overlay-qemu-img.qcow2";
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove(out);
    state.ResumeTiming();
    const auto r = run_command({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                                base_image().string(), out.string()});
    if (!r || !r->success()) {
      state.SkipWithError("qemu-img create failed");
      return;
    }
  }
}

void digest_in_memory(benchmark::State& state, DigestAlgorithm algorithm) {
  const std::string data(64U << 20U, 'x');
  for (auto _ : state)
    benchmark::DoNotOptimize(digest(algorithm, data));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data.size()));
}

// The verification path of `image fetch`: libcurl streams the file, each chunk is hashed.
void digest_streamed(benchmark::State& state, DigestAlgorithm algorithm) {
  const auto file = data_file();
  for (auto _ : state) {
    Digest d(algorithm);
    const images::ChunkSink sink = [&](std::string_view chunk) -> Status {
      d.update(chunk);
      return {};
    };
    auto r = images::download(file.string(), 0, sink, images::DownloadPolicy{});
    if (!r) {
      state.SkipWithError(r.error().describe().c_str());
      return;
    }
    benchmark::DoNotOptimize(d.finish());
  }
  state.SetBytesProcessed(state.iterations() * (std::int64_t{256} << 20));
}

void external_digest(benchmark::State& state, std::vector<std::string> argv) {
  if (!find_executable(argv.front())) {
    state.SkipWithError("tool not installed");
    return;
  }
  argv.push_back(data_file().string());
  for (auto _ : state) {
    const auto r = run_command(argv, CommandOptions{std::chrono::milliseconds(60000), 4096});
    if (!r || !r->success()) {
      state.SkipWithError("tool failed");
      return;
    }
  }
  state.SetBytesProcessed(state.iterations() * (std::int64_t{256} << 20));
}

void BM_Sha512_Kvmrun_InMemory(benchmark::State& s) {
  digest_in_memory(s, DigestAlgorithm::sha512);
}
void BM_Sha512_Kvmrun_Streamed(benchmark::State& s) { digest_streamed(s, DigestAlgorithm::sha512); }
void BM_Sha512_Sha512sum(benchmark::State& s) { external_digest(s, {"sha512sum"}); }
void BM_Sha512_OpensslDgst(benchmark::State& s) {
  external_digest(s, {"openssl", "dgst", "-sha512"});
}
void BM_Sha256_Kvmrun_InMemory(benchmark::State& s) {
  digest_in_memory(s, DigestAlgorithm::sha256);
}
void BM_Sha256_Kvmrun_Streamed(benchmark::State& s) { digest_streamed(s, DigestAlgorithm::sha256); }
void BM_Sha256_Sha256sum(benchmark::State& s) { external_digest(s, {"sha256sum"}); }
void BM_Sha256_OpensslDgst(benchmark::State& s) {
  external_digest(s, {"openssl", "dgst", "-sha256"});
}

BENCHMARK(BM_Overlay_Kvmrun_Written)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Overlay_Kvmrun_FileSynced)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Overlay_Kvmrun_Durable)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Overlay_QemuImgCreate)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Sha512_Kvmrun_InMemory)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha512_Kvmrun_Streamed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha512_Sha512sum)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha512_OpensslDgst)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha256_Kvmrun_InMemory)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha256_Kvmrun_Streamed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha256_Sha256sum)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha256_OpensslDgst)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
