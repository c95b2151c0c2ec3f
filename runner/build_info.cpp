// Asks each linked library for its own version at run time (not only the headers' idea of it),
// so `kvmrun --version` tells what is really inside the binary.
#include "runner/build_info.hpp"

#include "images/download.hpp"

#include <boost/version.hpp>
#include <openssl/crypto.h>
#include <toml++/impl/version.h>
#include <zlib.h>

namespace kvmrun::runner {

std::string kvmrun_version() { return KVMRUN_VERSION; }

std::string version_report() {
  std::string text = "kvmrun " + kvmrun_version() + "\n";
  text += "  libcurl " + images::curl_version_text() + "\n";
  text += "  " + std::string(OpenSSL_version(OPENSSL_VERSION)) + "\n";
  text += "  Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
          std::to_string(BOOST_VERSION / 100 % 1000) + "." + std::to_string(BOOST_VERSION % 100) +
          "\n";
  text += "  toml++ " + std::to_string(TOML_LIB_MAJOR) + "." + std::to_string(TOML_LIB_MINOR) +
          "." + std::to_string(TOML_LIB_PATCH) + "\n";
  text += "  zlib " + std::string(zlibVersion()) + "\n";
  return text;
}

} // namespace kvmrun::runner
