// HTTP(S) and file:// downloads over libcurl, streamed chunk by chunk to a caller's sink, with
// the transport policy kvmrun insists on: certificate and host verification, HTTPS-only
// redirects (plain HTTP only where the catalog allows it), a small redirect limit, connect and
// low-speed timeouts, failure on HTTP errors. The only file that includes libcurl.
#pragma once

#include "base/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace kvmrun::images {

struct DownloadPolicy {
  bool allow_http = false; // plain http:// URLs and redirects to them
  std::string ca_file;     // extra CA bundle (PEM); empty: the system's
  std::chrono::seconds connect_timeout{30};
  std::uint64_t low_speed_bytes = 1024;    // abort below this many bytes per second ...
  std::chrono::seconds low_speed_time{30}; // ... sustained this long
  long max_redirects = 5;
};

// Receives the body in chunks; an error stops the transfer and is returned as is.
using ChunkSink = std::function<Status(std::string_view chunk)>;
// Bytes received in this transfer and the expected total (0 when unknown).
using ProgressSink = std::function<void(std::uint64_t received, std::uint64_t total)>;

struct DownloadOutcome {
  long status = 0;           // HTTP status (0 for file://)
  std::uint64_t bytes = 0;   // body bytes passed to the sink
  std::string effective_url; // after redirects
};

// Fetches `url` starting at byte `offset` (a resume). ErrorCode::image on any transport or
// HTTP failure, with a message naming the URL, what happened and a remedy. A server that
// cannot resume yields an error whose message starts with "cannot resume".
[[nodiscard]] Result<DownloadOutcome> download(const std::string& url, std::uint64_t offset,
                                               const ChunkSink& sink, const DownloadPolicy& policy,
                                               const ProgressSink& progress = {});

// A small document (a checksum manifest) into memory, refusing more than `max_bytes`.
[[nodiscard]] Result<std::string> download_text(const std::string& url,
                                                const DownloadPolicy& policy,
                                                std::size_t max_bytes = 1U << 20U);

// "file://" + path for absolute local paths; URLs unchanged.
[[nodiscard]] std::string as_url(std::string_view url_or_path);

// The libcurl version and TLS backend inside this binary, e.g. "7.88.1 (OpenSSL/3.0.19)".
[[nodiscard]] std::string curl_version_text();

} // namespace kvmrun::images
