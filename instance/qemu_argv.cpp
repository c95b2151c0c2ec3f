#include "instance/qemu_argv.hpp"

#include "base/lock_file.hpp"

#include <algorithm>

namespace kvmrun::instance {

namespace {

// QEMU's option syntax separates key=value pairs with ','; a ',' inside a value is doubled.
std::string escape(const std::string& value) {
  std::string out;
  for (const char c : value) {
    out += c;
    if (c == ',')
      out += ',';
  }
  return out;
}

void add(std::vector<std::string>& argv, std::string option, std::string value) {
  argv.push_back(std::move(option));
  argv.push_back(std::move(value));
}

// A file node and a format node over it; the device refers to `node`.
// A file node and its format node. A writable disk states its I/O settings on both (cache.direct
// and aio belong to the file, a flush that is to be ignored is ignored at both).
void add_blockdev(std::vector<std::string>& argv, const std::filesystem::path& file,
                  const std::string& node, const char* format, const lab::DiskIo* io) {
  std::string file_opts = ",read-only=on";
  std::string format_opts = ",read-only=on";
  if (io != nullptr) {
    const std::string no_flush = io->cache == lab::DiskCache::unsafe ? "on" : "off";
    const std::string discard = io->discard ? "unmap" : "ignore";
    file_opts = std::string(",aio=")
                    .append(lab::to_string(io->aio))
                    .append(",cache.direct=")
                    .append(io->cache == lab::DiskCache::none ? "on" : "off")
                    .append(",cache.no-flush=")
                    .append(no_flush)
                    .append(",discard=")
                    .append(discard);
    format_opts =
        std::string(",cache.no-flush=").append(no_flush).append(",discard=").append(discard);
  }
  add(argv, "-blockdev",
      "driver=file,filename=" + escape(file.string()) + ",node-name=" + node + "-file" + file_opts);
  add(argv, "-blockdev",
      std::string("driver=") + format + ",file=" + node + "-file,node-name=" + node + format_opts);
}

std::string mebibytes(std::uint64_t bytes) { return std::to_string(bytes >> 20U) + "M"; }

} // namespace

std::string extra_disk_node(std::size_t index) { return "data" + std::to_string(index); }

std::vector<std::string> disk_nodes(const lab::InstanceSpec& instance) {
  std::vector<std::string> nodes{root_node};
  for (std::size_t k = 0; k < instance.disks.size(); ++k)
    nodes.push_back(extra_disk_node(k));
  return nodes;
}

std::string name_option(std::string_view lab, std::string_view instance) {
  return "guest=" + std::string(lab) + "/" + std::string(instance) + ",debug-threads=on";
}

bool names_instance(std::string_view cmdline, std::string_view lab, std::string_view instance) {
  return cmdline_has(cmdline, "-name", name_option(lab, instance));
}

std::string hostfwd_source(const lab::PortForward& f) {
  std::string source = f.protocol == lab::Protocol::udp ? "udp:" : "tcp:";
  source.append(f.host_address).append(":").append(std::to_string(f.host_port));
  return source;
}

std::string hostfwd_rule(const lab::PortForward& f) {
  return hostfwd_source(f).append("-:").append(std::to_string(f.guest_port));
}

std::string user_netdev(const std::vector<lab::PortForward>& forwards) {
  std::string netdev = "user,id=net0";
  for (const auto& f : forwards)
    netdev.append(",hostfwd=").append(hostfwd_rule(f));
  return netdev;
}

std::vector<std::string> qemu_argv(const QemuLaunch& l) {
  const auto& in = l.instance;
  const auto& p = l.paths;
  std::vector<std::string> argv{l.qemu};
  add(argv, "-name", name_option(l.lab, in.name));
  argv.insert(argv.end(), {"-nodefaults", "-no-user-config", "-display", "none"});
  add(argv, "-sandbox", std::string(qemu_sandbox));
  add(argv, "-msg", "timestamp=on");
  std::string machine = "q35";
  if (l.image.firmware == lab::Firmware::uefi_secure)
    machine += ",smm=on"; // Secure Boot OVMF keeps its variables safe in SMM
  if (lab::is_uefi(l.image.firmware))
    machine += ",pflash0=fw-code,pflash1=fw-vars";
  add(argv, "-machine", machine);
  if (l.image.firmware == lab::Firmware::uefi_secure) // only SMM code may write the vars flash
    add(argv, "-global", "driver=cfi.pflash01,property=secure,value=on");
  add(argv, "-accel", l.kvm ? "kvm" : "tcg");
  add(argv, "-cpu", l.kvm ? "host" : "max");
  const auto topology = lab::smp_topology(in);
  add(argv, "-smp",
      std::to_string(in.cpus) + ",sockets=" + std::to_string(topology.sockets) + ",cores=" +
          std::to_string(topology.cores) + ",threads=" + std::to_string(topology.threads));
  add(argv, "-m", mebibytes(in.memory_bytes));

  // Control channels, all on sockets kvmrun created (see qmp_fd).
  add(argv, "-chardev", "socket,id=qmp,fd=" + std::to_string(qmp_fd) + ",server=on,wait=off");
  add(argv, "-mon", "chardev=qmp,mode=control");
  add(argv, "-chardev", "socket,id=qmp-up,fd=" + std::to_string(qmp_up_fd) + ",server=on,wait=off");
  add(argv, "-mon", "chardev=qmp-up,mode=control");
  add(argv, "-chardev",
      "socket,id=serial0,fd=" + std::to_string(serial_fd) +
          ",server=on,wait=off,logfile=" + escape(p.serial_log().string()) + ",logappend=on");
  add(argv, "-serial", "chardev:serial0");
  add(argv, "-device", "virtio-serial-pci,id=vser0");
  add(argv, "-chardev", "socket,id=qga,fd=" + std::to_string(agent_fd) + ",server=on,wait=off");
  add(argv, "-device", "virtserialport,bus=vser0.0,chardev=qga,name=org.qemu.guest_agent.0");

  // Firmware: SeaBIOS is QEMU's default; OVMF code read-only with this instance's own vars.
  if (lab::is_uefi(l.image.firmware)) {
    add(argv, "-blockdev",
        "driver=file,filename=" + escape(l.ovmf_code.string()) + ",node-name=fw-code,read-only=on");
    add(argv, "-blockdev",
        "driver=file,filename=" + escape(p.efi_vars().string()) + ",node-name=fw-vars");
  }
  if (!l.image.kernel.empty()) {
    add(argv, "-kernel", l.image.kernel);
    if (!l.image.initrd.empty())
      add(argv, "-initrd", l.image.initrd);
    if (!l.image.cmdline.empty())
      add(argv, "-append", l.image.cmdline);
  }

  // Disks: the instance's qcow2 overlay boots; the seed is read-only; extra disks carry their
  // name as the virtio serial, so the guest finds them as /dev/disk/by-id/virtio-<name>.
  add_blockdev(argv, p.disk(), root_node, "qcow2", &in.disk_io);
  // With -kernel the kernel boots (it takes boot index 0 itself); otherwise the firmware
  // boots this disk.
  add(argv, "-device",
      std::string("virtio-blk-pci,drive=") + root_node +
          (l.image.kernel.empty() ? ",bootindex=0" : ""));
  add_blockdev(argv, p.seed(), "seed", "raw", nullptr);
  add(argv, "-device", "virtio-blk-pci,drive=seed,serial=cidata");
  for (std::size_t i = 0; i < in.disks.size(); ++i) {
    const std::string node = extra_disk_node(i);
    add_blockdev(argv, p.extra_disk(in.disks[i].name), node, "qcow2", &in.disks[i].io);
    add(argv, "-device", "virtio-blk-pci,drive=" + node + ",serial=" + in.disks[i].name);
  }

  if (in.user_network) {
    add(argv, "-netdev", user_netdev(in.forwards));
    add(argv, "-device", "virtio-net-pci,netdev=net0,mac=" + in.seed.network.mac);
  }
  // Lab networks: frames go by datagram to the network's switch (network/switch.hpp), which
  // QEMU finds again by path if it restarts; a network on a host bridge (root mode) is a tap
  // device kvmrun made and QEMU inherits.
  for (std::size_t i = 0; i < in.attachments.size(); ++i) {
    const auto& at = in.attachments[i];
    const std::string id = "lan-" + at.network;
    if (std::find(l.bridged.begin(), l.bridged.end(), at.network) != l.bridged.end())
      add(argv, "-netdev", "tap,id=" + id + ",fd=" + std::to_string(tap_fd + static_cast<int>(i)));
    else
      add(argv, "-netdev",
          "dgram,id=" + id +
              ",local.type=unix,local.path=" + escape(p.segment_socket(at.network).string()) +
              ",remote.type=unix,remote.path=" + escape(p.switch_socket(at.network).string()));
    add(argv, "-device", "virtio-net-pci,netdev=" + id + ",mac=" + at.mac);
  }
  add(argv, "-object", "rng-random,id=rng0,filename=/dev/urandom");
  add(argv, "-device", "virtio-rng-pci,rng=rng0");
  // Free page reporting: the guest hands the pages it frees back to the host (QEMU discards
  // them), so an idle guest costs the host what it uses, and a template's state file holds only
  // the pages in use (migration skips discarded pages).
  add(argv, "-device", "virtio-balloon-pci,id=balloon0,free-page-reporting=on");
  // A new generation ID each time QEMU starts: a guest restored from a template sees it change
  // and reseeds its random generator (Linux: "crng reseeded due to virtual machine fork").
  add(argv, "-device", "vmgenid,guid=auto");
  if (l.incoming)
    add(argv, "-incoming", "defer");
  return argv;
}

} // namespace kvmrun::instance
