#include "host/dirs.hpp"

#include <string>

namespace kvmrun::host {

namespace {

std::filesystem::path pick(const EnvLookup& getenv, const char* own, const char* xdg,
                           const std::filesystem::path& fallback) {
  if (const char* v = getenv(own); v != nullptr && *v != '\0')
    return v;
  if (const char* v = getenv(xdg); v != nullptr && *v == '/')
    return std::filesystem::path(v) / "kvmrun";
  return fallback;
}

Dirs own_dirs(const EnvLookup& getenv, uid_t uid) {
  if (uid == 0) {
    const auto own = [&](const char* name, const char* fallback) {
      const char* v = getenv(name);
      return std::filesystem::path(v != nullptr && *v != '\0' ? v : fallback);
    };
    return {own("KVMRUN_CACHE_DIR", "/var/cache/kvmrun"),
            own("KVMRUN_STATE_DIR", "/var/lib/kvmrun"),
            own("KVMRUN_RUNTIME_DIR", "/run/kvmrun"),
            {}};
  }
  const char* home_env = getenv("HOME");
  const std::filesystem::path home = home_env != nullptr && *home_env == '/' ? home_env : "/tmp";
  Dirs dirs;
  dirs.cache = pick(getenv, "KVMRUN_CACHE_DIR", "XDG_CACHE_HOME", home / ".cache" / "kvmrun");
  dirs.state =
      pick(getenv, "KVMRUN_STATE_DIR", "XDG_STATE_HOME", home / ".local" / "state" / "kvmrun");
  dirs.runtime = pick(getenv, "KVMRUN_RUNTIME_DIR", "XDG_RUNTIME_DIR",
                      std::filesystem::path("/tmp") / ("kvmrun-" + std::to_string(uid)));
  return dirs;
}

} // namespace

Dirs default_dirs(const EnvLookup& getenv, uid_t uid) {
  Dirs dirs = own_dirs(getenv, uid);
  const char* evidence = getenv("KVMRUN_EVIDENCE_DIR");
  dirs.evidence = evidence != nullptr && *evidence != '\0' ? evidence : dirs.state;
  return dirs;
}

} // namespace kvmrun::host
