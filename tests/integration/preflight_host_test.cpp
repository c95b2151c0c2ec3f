// Preflight on this real host: real /dev/kvm, real sysfs, the real QEMU, run through the binary.
#include "base/subprocess.hpp"
#include "host/kvm_probe.hpp"
#include "tests/support/kvmrun_binary.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

namespace kvmrun {
namespace {

using namespace std::chrono_literals;

bool kvm_device_opens() {
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false;
  ::close(fd);
  return true;
}

bool module_loaded(const char* name) {
  return std::filesystem::exists(std::filesystem::path("/sys/module") / name);
}

boost::json::object preflight_json(const std::vector<std::string>& extra_env = {},
                                   const std::vector<std::string>& extra_args = {},
                                   int expected_exit = 0) {
  std::vector<std::string> args{"preflight", "--json"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const auto r = testing::run_kvmrun(args, extra_env);
  EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
  if (r.out.empty())
    return {};
  return boost::json::parse(r.out).as_object();
}

const boost::json::object& check(const boost::json::object& doc, std::string_view name) {
  for (const auto& c : doc.at("checks").as_array())
    if (c.as_object().at("name").as_string() == name)
      return c.as_object();
  ADD_FAILURE() << "no check " << name;
  static const boost::json::object none;
  return none;
}

TEST(PreflightOnThisHost, AKernelThatRefusesIoUringIsAWarningAndUpRefusesAnIoUringDisk) {
  // This kernel allows io_uring; under a seccomp filter that refuses it, as many containers do,
  // preflight warns and `up` stops before QEMU for an instance with an io_uring disk.
  EXPECT_EQ(check(preflight_json(), "io-uring").at("verdict").as_string(), "pass");
  auto r = run_command({DENY_IO_URING, KVMRUN_BINARY, "preflight", "--json"});
  ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->out + r->err : r.error().describe());
  const auto doc = boost::json::parse(r->out).as_object();
  const auto& c = check(doc, "io-uring");
  EXPECT_EQ(c.at("verdict").as_string(), "warn");
  EXPECT_NE(boost::json::serialize(c).find("Operation not permitted"), std::string::npos)
      << boost::json::serialize(c);

  testing::TempDir dir;
  testing::write_file(
      dir / "lab.toml",
      "[images.i]\nurl = \"/nonexistent.qcow2\"\nchecksum = \"sha256:" + std::string(64, '0') +
          "\"\n[instances.web]\nimage = \"i\"\ndisks = [{ name = \"d\", size = "
          "\"1GiB\", aio = \"io_uring\" }]\n");
  r = run_command({"env", "KVMRUN_STATE_DIR=" + (dir / "state").string(),
                   "KVMRUN_RUNTIME_DIR=" + (dir / "run").string(),
                   "KVMRUN_CACHE_DIR=" + (dir / "cache").string(), DENY_IO_URING, KVMRUN_BINARY,
                   "--config=" + (dir / "lab.toml").string(), "up", "--stage", "preflight"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 4) << r->out << r->err;
  EXPECT_NE(r->err.find("instance 'web' has a disk with aio = \"io_uring\", which this kernel "
                        "refuses (io_uring_setup: Operation not permitted)"),
            std::string::npos)
      << r->err;
  EXPECT_NE(r->err.find("use aio = \"threads\""), std::string::npos) << r->err;
}

TEST(PreflightOnThisHost, ReportsEveryCheckAsValidJson) {
  if (!find_executable("qemu-system-x86_64"))
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  const auto doc = preflight_json();
  for (const char* name :
       {"qemu", "kvm-device", "kvm-guest", "firmware-bios", "firmware-uefi", "firmware-uefi-secure",
        "io-uring", "space-state", "space-cache", "accel"})
    EXPECT_FALSE(check(doc, name).empty()) << name;
  EXPECT_EQ(check(doc, "qemu").at("verdict").as_string(), "pass");
}

TEST(PreflightOnThisHost, ChoosesTheAcceleratorThisHostCanReallyUse) {
  if (!find_executable("qemu-system-x86_64"))
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  const auto doc = preflight_json();
  const auto& accel = doc.at("accel").as_object();
  const bool hardware_kvm = module_loaded("kvm_intel") || module_loaded("kvm_amd");
  if (kvm_device_opens() && module_loaded("kvm_pvm") && !hardware_kvm) {
    // The nested PVM hypervisor of these build machines: KVM opens, stock kernels hang.
    EXPECT_EQ(accel.at("chosen").as_string(), "tcg");
    EXPECT_FALSE(accel.at("kvm_usable").as_bool());
    EXPECT_NE(std::string(accel.at("reason").as_string()).find("kvm_pvm"), std::string::npos);
    EXPECT_EQ(check(doc, "kvm-guest").at("verdict").as_string(), "warn");
  } else if (kvm_device_opens() && hardware_kvm) {
    EXPECT_EQ(accel.at("chosen").as_string(), "kvm");
  } else {
    EXPECT_EQ(accel.at("chosen").as_string(), "tcg");
  }
}

TEST(PreflightOnThisHost, RequestingKvmWhereItCannotBootGuestsExitsWithTheHostCode) {
  if (!find_executable("qemu-system-x86_64"))
    GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  const bool hardware_kvm = module_loaded("kvm_intel") || module_loaded("kvm_amd");
  if (kvm_device_opens() && hardware_kvm)
    GTEST_SKIP() << "this host's KVM works";
  const auto doc = preflight_json({}, {"--accel", "kvm"}, 4);
  EXPECT_FALSE(doc.at("ok").as_bool());
  EXPECT_EQ(check(doc, "accel").at("verdict").as_string(), "fail");
}

TEST(PreflightOnThisHost, AQemuOlderThanTheMinimumFailsWithTheHostCode) {
  testing::TempDir dir;
  testing::write_script(dir / "qemu-system-x86_64", "echo 'QEMU emulator version 5.2.0'");
  const auto doc = preflight_json({"KVMRUN_QEMU=" + (dir / "qemu-system-x86_64").string()}, {}, 4);
  EXPECT_EQ(check(doc, "qemu").at("verdict").as_string(), "fail");
  EXPECT_NE(std::string(check(doc, "qemu").at("summary").as_string()).find("5.2.0"),
            std::string::npos);
}

TEST(PreflightOnThisHost, ReadOnlyStateDirectoriesFailTheSpaceCheck) {
  if (::geteuid() == 0)
    GTEST_SKIP() << "root can write anywhere; the permission check cannot fail here";
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "ro");
  std::filesystem::permissions(dir / "ro", std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_exec);
  const auto doc = preflight_json({"KVMRUN_STATE_DIR=" + (dir / "ro" / "state").string()},
                                  {"--accel", "tcg"}, 4);
  EXPECT_EQ(check(doc, "space-state").at("verdict").as_string(), "fail");
}

TEST(KvmProbe, RunsATinyGuestOnTheRealKvmDevice) {
  if (!kvm_device_opens())
    GTEST_SKIP() << "/dev/kvm cannot be opened here";
  const auto r = host::probe_kvm_guest("/dev/kvm", 3000ms);
  EXPECT_TRUE(r.ran_guest) << r.detail;
}

TEST(KvmProbe, ReportsADeviceThatIsNotKvm) {
  const auto r = host::probe_kvm_guest("/dev/null", 3000ms);
  EXPECT_FALSE(r.ran_guest);
  EXPECT_FALSE(r.detail.empty());
}

} // namespace
} // namespace kvmrun
