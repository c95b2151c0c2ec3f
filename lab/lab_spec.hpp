// A validated lab: what the TOML lab definition says, after every check passed. Everything
// downstream (provisioning, argv, seeds, gates) takes these types and never re-validates.
#pragma once

#include "base/digest.hpp"
#include "base/disk_format.hpp"
#include "base/result.hpp"
#include "seeds/cloud_init.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kvmrun::lab {

// How a guest's NICs are named. guest (the default): matched by MAC only, the guest names them
// (systemd's predictable names such as enp0s2): right for Debian's official images, whose
// cloud-init renders through netplan. kvmrun: renamed by cloud-init (set-name), the user-mode NIC
// to eth0 and each lab-network NIC to its network's name: for images whose cloud-init renames
// reliably, such as kvmrun's debian-12 recipe (networkd renderer) and the tiny guest.
enum class InterfaceNames { guest, kvmrun };

// bios: SeaBIOS. uefi: OVMF. uefi_secure: OVMF built for Secure Boot (with SMM), each instance's
// vars copied from the template with Microsoft's keys enrolled and Secure Boot on.
enum class Firmware { bios, uefi, uefi_secure };

[[nodiscard]] inline bool is_uefi(Firmware f) { return f != Firmware::bios; }

struct ImageSpec {
  std::string name;
  std::string url;                   // https://, http:// (allow_http), file:// or an absolute path
  std::optional<HexDigest> checksum; // pinned digest, or:
  std::string checksum_url;          // a SHA256SUMS / SHA512SUMS style manifest
  DiskFormat format = DiskFormat::qcow2;
  Firmware firmware = Firmware::bios;
  std::string kernel; // direct boot: kernel, initrd (URLs or paths) and command line
  std::string initrd;
  std::string cmdline;
  bool allow_http = false;
  std::string ca_file;
  std::string missing_remedy; // what to do when the image cannot be fetched (built-in images)
  // A built-in image (lab/builtin_images): the recipe that builds it here, and which source
  // was chosen ("Debian's official cloud image" or the recipe's local build). Empty: declared.
  std::string recipe;
  std::string origin;
  InterfaceNames interface_names = InterfaceNames::guest;
  bool interface_names_given = false; // the lab said which (built-in resolution keeps it)
  // verify = "full": the cached file is hashed in full before every use (default "quick": its
  // size, inode and mtime as when it was last hashed).
  bool verify_in_full = false;
  // checksum_refresh: how old the cached checksum manifest may be ("always": 0, the default;
  // "never": seconds::max(); or a duration such as "24h").
  std::chrono::seconds checksum_refresh{0};
  // The user cloud-init creates by default in this image (its cloud.cfg's default_user), whom
  // `kvmrun ssh` logs in as: Debian's images call it debian.
  std::string default_user = "debian";
};

enum class Protocol { tcp, udp };

struct PortForward {
  Protocol protocol = Protocol::tcp;
  std::string host_address = "127.0.0.1";
  std::uint16_t host_port = 0;
  std::uint16_t guest_port = 0;
};

// "127.0.0.1:2222->22", with "/udp" for UDP: how status, `forward list` and errors show one.
[[nodiscard]] std::string forward_text(const PortForward& forward);
// "[HOST:]PORT:GUEST_PORT[/udp]" as `kvmrun forward add` takes it; HOST defaults to
// 127.0.0.1 (0.0.0.0 when `public_bind`). nullopt for anything else.
[[nodiscard]] std::optional<PortForward> parse_forward_spec(std::string_view spec,
                                                            bool public_bind);
// Whether two forwards want the same host port (same protocol and port, and the same address
// or one of them all addresses).
[[nodiscard]] bool same_host_port(const PortForward& a, const PortForward& b);

// How QEMU reaches a disk's file on the host.
//   cache writeback (the default, QEMU's): the host page cache holds writes; a guest flush
//         (fsync) reaches the host disk before it completes, so what the guest synced survives
//         a host crash. none: O_DIRECT, no host page cache, flushes honoured likewise.
//         unsafe: flushes are ignored; a host crash can lose or tear anything (throwaway runs).
//   aio   threads (the default): a thread pool; native: Linux AIO (needs cache none);
//         io_uring: the kernel's io_uring (preflight checks the host kernel allows it).
//   discard: the guest's TRIM/discard frees space in the qcow2 file (unmap) or is ignored.
enum class DiskCache { writeback, none, unsafe };
enum class DiskAio { threads, native, io_uring };
struct DiskIo {
  DiskCache cache = DiskCache::writeback;
  DiskAio aio = DiskAio::threads;
  bool discard = true;
};
[[nodiscard]] std::string_view to_string(DiskCache cache);
[[nodiscard]] std::string_view to_string(DiskAio aio);

struct ExtraDisk {
  std::string name; // also the virtio serial: the guest sees /dev/disk/by-id/virtio-<name>
  std::uint64_t size_bytes = 0;
  DiskIo io;              // the instance's disk_io unless the disk says otherwise
  std::string filesystem; // empty: left blank
  std::string mount_point;
  std::string mount_options = "defaults,nofail";
};

// How the instance's vCPUs are presented to the guest (-smp). sockets * cores * threads is the
// instance's cpus; by default one socket of `cpus` cores, one thread each. cores = 0: whatever
// makes the product the cpus (the loader checks that an explicit topology adds up).
struct CpuTopology {
  unsigned sockets = 1;
  unsigned cores = 0;
  unsigned threads = 1;
};

struct Timeouts {
  std::chrono::milliseconds qemu{10'000};          // QMP answers query-status
  std::chrono::milliseconds boot{300'000};         // first output on the serial console
  std::chrono::milliseconds agent{600'000};        // the guest agent answers
  std::chrono::milliseconds network{600'000};      // forwarded ports accept connections
  std::chrono::milliseconds disks{600'000};        // extra disks attached and mounted
  std::chrono::milliseconds cloud_init{1'200'000}; // cloud-init finished without errors
  std::chrono::milliseconds shutdown{60'000};      // each step of the stop ladder
};

// A lab network: a private layer-2 segment ([networks.NAME]) that the instances attached to it
// share, switched by kvmrun itself (network/), with no root, bridge or tap.
struct SegmentSpec {
  std::string name;       // also the guest's interface name (at most 12 characters)
  std::string subnet;     // "192.168.122.0/24", as written
  std::uint32_t base = 0; // the subnet's network address (host byte order)
  unsigned prefix = 24;   // 8 to 30
  std::string gateway;    // optional; a route through it only when given
  // Root mode: the network is this existing host bridge, each member's NIC a tap device on it
  // (needs CAP_NET_ADMIN), instead of kvmrun's switch. Empty: the switch.
  std::string bridge;
  std::uint32_t first_line = 0; // where it was declared: networks keep their file order
};

// One instance's NIC on a lab network.
struct Attachment {
  std::string network;
  std::string address;                // "192.168.122.10" (the prefix is the network's)
  std::string mac;                    // given, or deterministic_mac(lab, instance, network)
  std::string path;                   // "instances.node-1.networks[0]", for messages
  std::uint32_t line = 0, column = 0; // where it was written
};

struct InstanceSpec {
  std::string name;
  std::string image;
  unsigned cpus = 2;
  CpuTopology topology;
  std::vector<unsigned> cpu_affinity; // host CPUs for the vCPU threads; empty: not pinned
  // An internal snapshot `up` takes once every gate passed (kept if the disk has it already):
  // `kvmrun snapshot revert INSTANCE TAG` returns to the freshly provisioned guest. Empty: none.
  std::string snapshot_when_ready;
  // A clone: started from the saved template of this name (`kvmrun template save`, templates/)
  // instead of booting its image; `up --from-template NAME` sets it too. Empty: a cold boot.
  std::string template_name;
  // Commands a clone runs through the guest agent (`/bin/sh -c`, each must exit 0) right after it
  // is restored and given its identity, before its gates: to renew what clones share (SSH host
  // keys, machine-id). Nothing for a cold boot.
  std::vector<std::string> on_clone;
  std::uint64_t memory_bytes = 2ULL << 30U;
  std::optional<std::uint64_t> disk_bytes; // absent: the base image's size
  std::vector<ExtraDisk> disks;
  DiskIo disk_io; // the root disk's, and the default of its extra disks
  std::vector<PortForward> forwards;
  bool user_network = true;            // the user-mode NIC (forwards, outbound access)
  std::vector<Attachment> attachments; // NICs on lab networks, in the order given
  Timeouts timeouts;
  seeds::SeedSpec seed; // cloud-init: users, network (with the MAC), disks, commands, ...
  // The declared users that get the lab's SSH key (all but those with kvmrun_key = false).
  std::vector<std::string> lab_key_users;
  std::vector<std::string> warnings;
};

struct LabSpec {
  std::string name;
  std::string source;      // file name, or "<built-in default lab>"
  std::string config_hash; // sha256 of the definition's text
  std::map<std::string, ImageSpec> images;
  std::vector<SegmentSpec> networks;   // in file order
  std::vector<InstanceSpec> instances; // in file order

  // The instance called `instance_name`; ErrorCode::config naming the lab's instances when
  // there is none: the one wording of "no such instance" for every command.
  [[nodiscard]] Result<const InstanceSpec*> find_instance(std::string_view instance_name) const;
  [[nodiscard]] const SegmentSpec* find_network(std::string_view network_name) const;
};

// Sets each instance's seed to rename its NICs or not, as its image's interface_names says
// (the loader does it; so does whoever changes an image afterwards, as built-in resolution does).
void apply_interface_names(LabSpec& lab);

// The instance's topology with its cores worked out (cores = 0 in the spec).
[[nodiscard]] CpuTopology smp_topology(const InstanceSpec& instance);

// The device path an extra disk has inside the guest (virtio-blk with serial=<name>).
[[nodiscard]] std::string guest_disk_device(std::string_view disk_name);

// 52:54:00 (QEMU's prefix) and three bytes of sha256("<lab>/<instance>"), or, for a NIC on a
// lab network, of sha256("<lab>/<instance>/<network>").
[[nodiscard]] std::string deterministic_mac(std::string_view lab, std::string_view instance,
                                            std::string_view network = {});

} // namespace kvmrun::lab
