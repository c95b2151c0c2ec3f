// configs/cluster.toml, as shipped: its built-in image debian-12 resolves to the guest the
// recipe builds from Debian packages; three nodes on one lab network under TCG pass every gate,
// peers included, and reach each other by name from inside.
#include "tests/e2e/lab_harness.hpp"

#include <iostream>

namespace kvmrun::testing {
namespace {

using namespace std::chrono_literals;

std::string cluster_example() {
  build_guest("debian-12");
  auto text = read_file(KVMRUN_SOURCE_DIR "/configs/cluster.toml");
  EXPECT_TRUE(text.ok());
  return text.ok() ? *text : std::string();
}

TEST(ClusterExample, ThreeDebianNodesOnTheClusterNetworkPassEveryGatePeersIncluded) {
  Lab lab(cluster_example());
  std::filesystem::create_directory_symlink(shared_cache_dir() / "guests", lab.cache() / "guests");
  const auto up = lab.run({"up"}, 20min);
  std::cout << up.out;
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  for (const std::string node : {"node-1", "node-2", "node-3"})
    for (const char* gate : {"agent", "addresses", "peers", "ports", "cloud-init", "provenance"})
      EXPECT_NE(up.out.find(node + "       ok   " + gate), std::string::npos) << node << gate;
  const auto names = lab.run({"exec", "node-1", "--", "/bin/sh", "-c",
                              "getent hosts node-2 node-3.cluster && ping -c 1 -W 2 node-3"});
  EXPECT_EQ(names.exit_code, 0) << names.err;
  EXPECT_NE(names.out.find("192.168.122.11  node-2.cluster node-2"), std::string::npos)
      << names.out;
  EXPECT_NE(names.out.find("192.168.122.12  node-3.cluster"), std::string::npos) << names.out;
  const auto down = lab.run({"down", "--purge-disks"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("network cluster: switch stopped"), std::string::npos) << down.out;
}

} // namespace
} // namespace kvmrun::testing
