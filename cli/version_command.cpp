// `kvmrun version`: asks each linked library for its own version at run time (not only the headers'
// idea of it), so `kvmrun --version` tells what is really inside the binary.
#include "cli/commands.hpp"

#include "images/download.hpp"

#include <boost/version.hpp>
#include <openssl/crypto.h>
#include <toml++/impl/version.h>
#include <zlib.h>

namespace kvmrun::cli {

std::string_view kvmrun_version() { return KVMRUN_VERSION; }

int run_version(const ParsedArgs&, std::ostream& out, std::ostream&, const CliEnvironment&) {
  std::string text = "kvmrun " KVMRUN_VERSION "\n";
  text += "  libcurl " + images::curl_version_text() + "\n";
  text += "  " + std::string(OpenSSL_version(OPENSSL_VERSION)) + "\n";
  text += "  Boost " + std::to_string(BOOST_VERSION / 100000) + "." +
          std::to_string(BOOST_VERSION / 100 % 1000) + "." + std::to_string(BOOST_VERSION % 100) +
          "\n";
  text += "  toml++ " + std::to_string(TOML_LIB_MAJOR) + "." + std::to_string(TOML_LIB_MINOR) +
          "." + std::to_string(TOML_LIB_PATCH) + "\n";
  text += "  zlib " + std::string(zlibVersion()) + "\n";
  out << text;
  return 0;
}

} // namespace kvmrun::cli
