#include "host/dirs.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace kvmrun::host {
namespace {

Dirs dirs_for(const std::map<std::string, std::string>& env, uid_t uid = 1000) {
  return default_dirs(
      [&](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      uid);
}

TEST(Dirs, FollowTheXdgDefaultsUnderHome) {
  const Dirs d = dirs_for({{"HOME", "/home/ann"}});
  EXPECT_EQ(d.cache, "/home/ann/.cache/kvmrun");
  EXPECT_EQ(d.state, "/home/ann/.local/state/kvmrun");
  EXPECT_EQ(d.runtime, "/tmp/kvmrun-1000");
}

TEST(Dirs, XdgVariablesOverrideHome) {
  const Dirs d = dirs_for({{"HOME", "/home/ann"},
                           {"XDG_CACHE_HOME", "/c"},
                           {"XDG_STATE_HOME", "/s"},
                           {"XDG_RUNTIME_DIR", "/run/user/1000"}});
  EXPECT_EQ(d.cache, "/c/kvmrun");
  EXPECT_EQ(d.state, "/s/kvmrun");
  EXPECT_EQ(d.runtime, "/run/user/1000/kvmrun");
}

TEST(Dirs, KvmrunVariablesOverrideEverything) {
  const Dirs d = dirs_for({{"HOME", "/home/ann"},
                           {"XDG_CACHE_HOME", "/c"},
                           {"KVMRUN_CACHE_DIR", "/images"},
                           {"KVMRUN_STATE_DIR", "/state"},
                           {"KVMRUN_RUNTIME_DIR", "/rt"}});
  EXPECT_EQ(d.cache, "/images");
  EXPECT_EQ(d.state, "/state");
  EXPECT_EQ(d.runtime, "/rt");
}

TEST(Dirs, EvidenceStaysWithTheStateUnlessItsVariableMovesIt) {
  EXPECT_EQ(dirs_for({{"HOME", "/home/ann"}}).evidence, "/home/ann/.local/state/kvmrun");
  EXPECT_EQ(dirs_for({{"KVMRUN_STATE_DIR", "/state"}}, 0).evidence, "/state");
  const Dirs moved = dirs_for({{"KVMRUN_STATE_DIR", "/state"}, {"KVMRUN_EVIDENCE_DIR", "/ev"}});
  EXPECT_EQ(moved.evidence, "/ev");
  EXPECT_EQ(moved.state, "/state");
  EXPECT_EQ(dirs_for({{"KVMRUN_EVIDENCE_DIR", "/ev"}}, 0).evidence, "/ev");
  EXPECT_EQ(dirs_for({{"HOME", "/h"}, {"KVMRUN_EVIDENCE_DIR", ""}}).evidence,
            "/h/.local/state/kvmrun");
}

TEST(Dirs, RelativeXdgValuesAreIgnoredAsTheSpecRequires) {
  const Dirs d = dirs_for({{"HOME", "/home/ann"}, {"XDG_CACHE_HOME", "relative"}});
  EXPECT_EQ(d.cache, "/home/ann/.cache/kvmrun");
}

TEST(Dirs, WithoutHomeEverythingStaysUnderTmp) {
  const Dirs d = dirs_for({}, 42);
  EXPECT_EQ(d.cache, "/tmp/.cache/kvmrun");
  EXPECT_EQ(d.runtime, "/tmp/kvmrun-42");
}

TEST(Dirs, RootUsesTheSystemsDirectoriesNotItsHome) {
  const Dirs d = dirs_for({{"HOME", "/root"}, {"XDG_STATE_HOME", "/root/.local/state"}}, 0);
  EXPECT_EQ(d.cache, "/var/cache/kvmrun");
  EXPECT_EQ(d.state, "/var/lib/kvmrun");
  EXPECT_EQ(d.runtime, "/run/kvmrun");
  const Dirs own = dirs_for({{"HOME", "/root"}, {"KVMRUN_STATE_DIR", "/srv/labs"}}, 0);
  EXPECT_EQ(own.state, "/srv/labs");
  EXPECT_EQ(own.cache, "/var/cache/kvmrun");
}

} // namespace
} // namespace kvmrun::host
