// The QEMU command line is a pure function of the instance; these goldens pin it.
#include "instance/qemu_argv.hpp"
#include "lab/loader.hpp"

#include <gtest/gtest.h>

namespace kvmrun::instance {
namespace {

QemuLaunch launch(const std::string& toml) {
  auto lab = lab::parse_lab(toml, "golden.toml");
  EXPECT_TRUE(lab.ok()) << lab.error().describe();
  QemuLaunch l;
  l.qemu = "/usr/bin/qemu-system-x86_64";
  l.lab = lab->name;
  l.instance = lab->instances.front();
  l.image = lab->images.at(l.instance.image);
  l.paths = InstancePaths{"/s/lab/web", "/r/lab/web"};
  return l;
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv)
    s += (s.empty() ? "" : "\n") + a;
  return s;
}

constexpr const char* web = R"(
[lab]
name = "lab"
[images.debian-12]
url = "https://example.org/d.qcow2"
checksum = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
[instances.web]
image = "debian-12"
cpus = 2
memory = "1GiB"
network = { mac = "52:54:00:aa:bb:cc" }
forwards = [{ host = 2222, guest = 22 }, { host = 8080, guest = 80, protocol = "udp" }]
disks = [{ name = "data", size = "1GiB", filesystem = "ext4", mount = "/srv/data" }]
)";

TEST(QemuArgv, GoldenBiosInstanceWithForwardsAndAnExtraDisk) {
  const auto l = launch(web);
  EXPECT_EQ(
      join(qemu_argv(l)),
      join({"/usr/bin/qemu-system-x86_64",
            "-name",
            "guest=lab/web,debug-threads=on",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "-msg",
            "timestamp=on",
            "-machine",
            "q35",
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-smp",
            "2,sockets=1,cores=2,threads=1",
            "-m",
            "1024M",
            "-chardev",
            "socket,id=qmp,fd=3,server=on,wait=off",
            "-mon",
            "chardev=qmp,mode=control",
            "-chardev",
            "socket,id=qmp-up,fd=7,server=on,wait=off",
            "-mon",
            "chardev=qmp-up,mode=control",
            "-chardev",
            "socket,id=serial0,fd=5,server=on,wait=off,logfile=/s/lab/web/serial.log,logappend=on",
            "-serial",
            "chardev:serial0",
            "-device",
            "virtio-serial-pci,id=vser0",
            "-chardev",
            "socket,id=qga,fd=4,server=on,wait=off",
            "-device",
            "virtserialport,bus=vser0.0,chardev=qga,name=org.qemu.guest_agent.0",
            "-blockdev",
            "driver=file,filename=/s/lab/web/disk.qcow2,node-name=disk0-file,aio=threads,"
            "cache.direct=off,cache.no-flush=off,discard=unmap",
            "-blockdev",
            "driver=qcow2,file=disk0-file,node-name=disk0,cache.no-flush=off,discard=unmap",
            "-device",
            "virtio-blk-pci,drive=disk0,bootindex=0",
            "-blockdev",
            "driver=file,filename=/s/lab/web/seed.iso,node-name=seed-file,read-only=on",
            "-blockdev",
            "driver=raw,file=seed-file,node-name=seed,read-only=on",
            "-device",
            "virtio-blk-pci,drive=seed,serial=cidata",
            "-blockdev",
            "driver=file,filename=/s/lab/web/disk-data.qcow2,node-name=data0-file,aio=threads,"
            "cache.direct=off,cache.no-flush=off,discard=unmap",
            "-blockdev",
            "driver=qcow2,file=data0-file,node-name=data0,cache.no-flush=off,discard=unmap",
            "-device",
            "virtio-blk-pci,drive=data0,serial=data",
            "-netdev",
            "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.1:8080-:80",
            "-device",
            "virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc",
            "-object",
            "rng-random,id=rng0,filename=/dev/urandom",
            "-device",
            "virtio-rng-pci,rng=rng0",
            "-device",
            "virtio-balloon-pci,id=balloon0,free-page-reporting=on",
            "-device",
            "vmgenid,guid=auto"}));
}

TEST(QemuArgv, DiskIoSettingsGoToTheRootDiskAndEachExtraDisk) {
  std::string toml = web;
  toml.replace(toml.find("disks = ["), 0,
               "disk_io = { cache = \"none\", aio = \"native\", discard = false }\n");
  toml.replace(toml.find("mount = \"/srv/data\""), 0, "cache = \"unsafe\", aio = \"io_uring\", ");
  const auto s = join(qemu_argv(launch(toml)));
  EXPECT_NE(s.find("node-name=disk0-file,aio=native,cache.direct=on,cache.no-flush=off,"
                   "discard=ignore\n-blockdev\ndriver=qcow2,file=disk0-file,node-name=disk0,"
                   "cache.no-flush=off,discard=ignore\n"),
            std::string::npos)
      << s;
  // The extra disk keeps the instance's discard and takes its own cache and aio.
  EXPECT_NE(s.find("node-name=data0-file,aio=io_uring,cache.direct=off,cache.no-flush=on,"
                   "discard=ignore\n-blockdev\ndriver=qcow2,file=data0-file,node-name=data0,"
                   "cache.no-flush=on,discard=ignore\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("node-name=seed-file,read-only=on\n"), std::string::npos)
      << "the seed is read-only";
}

TEST(QemuArgv, KvmUsesTheHostCpu) {
  auto l = launch(web);
  l.kvm = true;
  const auto s = join(qemu_argv(l));
  EXPECT_NE(s.find("-accel\nkvm\n-cpu\nhost\n"), std::string::npos);
}

TEST(QemuArgv, TheTopologyGoesToSmp) {
  auto l = launch(web);
  l.instance.cpus = 8;
  l.instance.topology = {2, 2, 2};
  const auto s = join(qemu_argv(l));
  EXPECT_NE(s.find("-smp\n8,sockets=2,cores=2,threads=2\n"), std::string::npos) << s;
  // A spec built in code with only cpus set gets one socket of that many cores.
  auto one = launch(web);
  one.instance.cpus = 1;
  one.instance.topology = {};
  EXPECT_NE(join(qemu_argv(one)).find("-smp\n1,sockets=1,cores=1,threads=1\n"), std::string::npos);
}

TEST(QemuArgv, UefiGetsReadOnlyCodeAndThisInstancesOwnVars) {
  auto l = launch(web);
  l.image.firmware = lab::Firmware::uefi;
  l.ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
  const auto s = join(qemu_argv(l));
  EXPECT_NE(s.find("-machine\nq35,pflash0=fw-code,pflash1=fw-vars\n"), std::string::npos);
  EXPECT_NE(s.find("driver=file,filename=/usr/share/OVMF/OVMF_CODE_4M.fd,node-name=fw-code,"
                   "read-only=on"),
            std::string::npos);
  EXPECT_NE(s.find("driver=file,filename=/s/lab/web/efivars.fd,node-name=fw-vars"),
            std::string::npos);
}

TEST(QemuArgv, SecureBootAddsSmmAndASecureVarsFlash) {
  auto l = launch(web);
  l.image.firmware = lab::Firmware::uefi_secure;
  l.ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd";
  const auto s = join(qemu_argv(l));
  EXPECT_NE(s.find("-machine\nq35,smm=on,pflash0=fw-code,pflash1=fw-vars\n-global\n"
                   "driver=cfi.pflash01,property=secure,value=on\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("filename=/usr/share/OVMF/OVMF_CODE_4M.ms.fd,node-name=fw-code,read-only=on"),
            std::string::npos);
  EXPECT_NE(s.find("driver=file,filename=/s/lab/web/efivars.fd,node-name=fw-vars"),
            std::string::npos);
  l.image.firmware = lab::Firmware::uefi;
  EXPECT_EQ(join(qemu_argv(l)).find("smm=on"), std::string::npos);
}

TEST(QemuArgv, DirectKernelBootLeavesBootOrderToTheKernel) {
  auto l = launch(web);
  l.image.kernel = "/g/vmlinuz";
  l.image.initrd = "/g/initrd.img";
  l.image.cmdline = "console=ttyS0";
  const auto s = join(qemu_argv(l));
  EXPECT_NE(s.find("-kernel\n/g/vmlinuz\n-initrd\n/g/initrd.img\n-append\nconsole=ttyS0\n"),
            std::string::npos);
  EXPECT_EQ(s.find("bootindex"), std::string::npos);
}

TEST(QemuArgv, CommasInPathsAreDoubledAsQemuOptionSyntaxRequires) {
  auto l = launch(web);
  l.paths.state = "/s/a,b";
  const auto s = join(qemu_argv(l));
  EXPECT_NE(s.find("filename=/s/a,,b/disk.qcow2,node-name"), std::string::npos);
}

TEST(QemuArgv, ForwardsAreBoundToLoopbackUnlessTheLabSaysOtherwise) {
  EXPECT_EQ(user_netdev({}), "user,id=net0");
  lab::PortForward f;
  f.host_port = 2222;
  f.guest_port = 22;
  EXPECT_EQ(user_netdev({f}), "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22");
  f.host_address = "0.0.0.0";
  EXPECT_EQ(user_netdev({f}), "user,id=net0,hostfwd=tcp:0.0.0.0:2222-:22");
}

// An instance on two lab networks, beside its user-mode NIC.
constexpr const char* two_networks = R"(
[lab]
name = "lab"
[images.debian-12]
url = "https://example.org/d.qcow2"
checksum = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
[networks.app]
subnet = "192.168.122.0/24"
[networks.mgmt]
subnet = "192.168.50.0/24"
[instances.web]
image = "debian-12"
network = { mac = "52:54:00:aa:bb:cc" }
networks = [{ name = "app", address = "192.168.122.10", mac = "52:54:00:00:01:01" },
            { name = "mgmt", address = "192.168.50.10", mac = "52:54:00:00:02:01" }]
)";

TEST(QemuArgv, EachLabNetworkIsADgramNetdevToItsSwitchWithTheAttachmentsMac) {
  const std::string argv = join(qemu_argv(launch(two_networks)));
  EXPECT_NE(
      argv.find("-netdev\nuser,id=net0\n-device\nvirtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc\n"
                "-netdev\ndgram,id=lan-app,local.type=unix,local.path=/r/lab/web/net-app.sock,"
                "remote.type=unix,remote.path=/r/lab/net-app/switch.sock\n"
                "-device\nvirtio-net-pci,netdev=lan-app,mac=52:54:00:00:01:01\n"
                "-netdev\ndgram,id=lan-mgmt,local.type=unix,local.path=/r/lab/web/net-mgmt.sock,"
                "remote.type=unix,remote.path=/r/lab/net-mgmt/switch.sock\n"
                "-device\nvirtio-net-pci,netdev=lan-mgmt,mac=52:54:00:00:02:01\n"),
      std::string::npos)
      << argv;
  auto isolated = launch(two_networks);
  isolated.instance.user_network = false;
  isolated.instance.forwards.clear();
  const std::string without = join(qemu_argv(isolated));
  EXPECT_EQ(without.find("user,id=net0"), std::string::npos) << without;
  EXPECT_EQ(without.find("netdev=net0"), std::string::npos);
  EXPECT_NE(without.find("netdev=lan-app"), std::string::npos);
}

TEST(QemuArgv, ANetworkOnAHostBridgeIsATapKvmrunHandsOverByDescriptor) {
  auto l = launch(two_networks);
  l.bridged = {"mgmt"}; // as up gives it for a network with bridge = "..."
  const std::string argv = join(qemu_argv(l));
  EXPECT_NE(argv.find("-netdev\ntap,id=lan-mgmt,fd=11\n-device\nvirtio-net-pci,netdev=lan-mgmt,"
                      "mac=52:54:00:00:02:01"),
            std::string::npos)
      << argv;
  EXPECT_NE(argv.find("dgram,id=lan-app,"), std::string::npos) << "app still goes to its switch";
}

TEST(QemuName, OnlyTheExactNameOptionOfThisLabAndInstanceMatches) {
  using namespace std::string_literals;
  const std::string argv = "qemu-system-x86_64\0-name\0"s + name_option("lab", "web") + "\0-m\0"s;
  EXPECT_EQ(name_option("lab", "web"), "guest=lab/web,debug-threads=on");
  EXPECT_TRUE(names_instance(argv, "lab", "web"));
  EXPECT_FALSE(names_instance(argv, "lab", "we"));
  EXPECT_FALSE(names_instance(argv, "la", "b/web"));
  EXPECT_FALSE(names_instance(argv, "other", "web"));
  // The same text elsewhere on the command line (a path, an argument to another option).
  EXPECT_FALSE(
      names_instance("qemu\0-append\0"s + name_option("lab", "web") + "\0"s, "lab", "web"));
  EXPECT_FALSE(names_instance("", "lab", "web"));
}

} // namespace
} // namespace kvmrun::instance
