#include "images/download.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace kvmrun::images {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

struct Transfer {
  const ChunkSink* sink = nullptr;
  const ProgressSink* progress = nullptr;
  std::uint64_t bytes = 0;
  std::optional<Error> sink_error;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (auto status = (*t->sink)(std::string_view(data, n)); !status) {
    t->sink_error = std::move(status).error();
    return CURL_WRITEFUNC_ERROR;
  }
  t->bytes += n;
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->progress != nullptr && *t->progress)
    (*t->progress)(static_cast<std::uint64_t>(now), static_cast<std::uint64_t>(total));
  return 0;
}

Error transfer_error(CURLcode code, const std::string& url, const char* detail, long status,
                     const DownloadPolicy& policy, std::uint64_t bytes) {
  const std::string what = detail[0] != '\0' ? std::string(detail) : curl_easy_strerror(code);
  const std::string prefix = "downloading " + url + ": ";
  switch (code) {
  case CURLE_HTTP_RETURNED_ERROR:
    return Error(ErrorCode::image, prefix + "the server answered HTTP " + std::to_string(status),
                 status == 404 ? "check the url in the image catalog" : "try again later");
  case CURLE_OPERATION_TIMEDOUT:
    return Error(ErrorCode::image,
                 prefix + "timed out (" + what + "; limits: connect " +
                     std::to_string(policy.connect_timeout.count()) + " s, at least " +
                     std::to_string(policy.low_speed_bytes) + " bytes/s over " +
                     std::to_string(policy.low_speed_time.count()) + " s)",
                 "check the network, then run the same command again: it resumes");
  case CURLE_TOO_MANY_REDIRECTS:
    return Error(ErrorCode::image,
                 prefix + "more than " + std::to_string(policy.max_redirects) + " redirects",
                 "the server redirects in a loop; use the final URL");
  case CURLE_UNSUPPORTED_PROTOCOL:
    return Error(ErrorCode::image,
                 prefix + "refused a URL or redirect with a disallowed scheme (" + what +
                     "); only https" + (policy.allow_http ? " and http" : "") + " are followed",
                 policy.allow_http ? "use an https URL"
                                   : "use https, or set allow_http = true for this image");
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CONNECT_ERROR:
    return Error(ErrorCode::image, prefix + "TLS verification failed: " + what,
                 "for a private CA set ca_file on the image; never disable verification");
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
    return Error(ErrorCode::image, prefix + "cannot connect: " + what,
                 "check the network, proxy settings and the url");
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
    return Error(ErrorCode::image,
                 prefix + "the connection ended early after " + std::to_string(bytes) + " bytes (" +
                     what + ")",
                 "run the same command again: it resumes from the partial download");
  case CURLE_RANGE_ERROR:
    return Error(ErrorCode::image, "cannot resume " + url + ": the server ignores byte ranges");
  case CURLE_FILE_COULDNT_READ_FILE:
    return Error(ErrorCode::image, prefix + "cannot read the file (" + what + ")",
                 "check the path in the image catalog");
  default: return Error(ErrorCode::image, prefix + what);
  }
}

} // namespace

std::string as_url(std::string_view url_or_path) {
  if (!url_or_path.empty() && url_or_path.front() == '/')
    return "file://" + std::string(url_or_path);
  return std::string(url_or_path);
}

Result<DownloadOutcome> download(const std::string& url, std::uint64_t offset,
                                 const ChunkSink& sink, const DownloadPolicy& policy,
                                 const ProgressSink& progress) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl)
    return Error(ErrorCode::internal, "curl_easy_init failed");
  CURL* c = curl.get();
  char detail[CURL_ERROR_SIZE] = {0};
  Transfer transfer{&sink, &progress, 0, std::nullopt};
  const std::string target = as_url(url);
  const char* protocols = policy.allow_http ? "https,http,file" : "https,file";
  const char* redirect_protocols = policy.allow_http ? "https,http" : "https";

  curl_easy_setopt(c, CURLOPT_URL, target.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, redirect_protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, policy.max_redirects);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!policy.ca_file.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, policy.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(policy.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(policy.low_speed_bytes));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(policy.low_speed_time.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kvmrun");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, progress ? 0L : 1L);
  if (offset > 0)
    curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));

  const CURLcode code = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (transfer.sink_error)
    return *transfer.sink_error;
  if (code != CURLE_OK)
    return transfer_error(code, url, detail, status, policy, transfer.bytes);
  if (offset > 0 && status == 200)
    return Error(ErrorCode::image, "cannot resume " + url + ": the server ignores byte ranges");
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  return DownloadOutcome{status, transfer.bytes, effective != nullptr ? effective : target};
}

Result<std::string> download_text(const std::string& url, const DownloadPolicy& policy,
                                  std::size_t max_bytes) {
  std::string text;
  const ChunkSink sink = [&](std::string_view chunk) -> Status {
    if (text.size() + chunk.size() > max_bytes)
      return Error(ErrorCode::image, url + " is larger than " + std::to_string(max_bytes) +
                                         " bytes; it is not a checksum manifest");
    text.append(chunk);
    return {};
  };
  auto outcome = download(url, 0, sink, policy);
  if (!outcome)
    return std::move(outcome).error();
  return text;
}

std::string curl_version_text() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  std::string text = info->version;
  if (info->ssl_version != nullptr)
    text += " (" + std::string(info->ssl_version) + ")";
  return text;
}

} // namespace kvmrun::images
