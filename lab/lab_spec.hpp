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

enum class Firmware { bios, uefi };

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
  std::string missing_remedy; // what to do when the image cannot be fetched (built-in labs)
};

enum class Protocol { tcp, udp };

struct PortForward {
  Protocol protocol = Protocol::tcp;
  std::string host_address = "127.0.0.1";
  std::uint16_t host_port = 0;
  std::uint16_t guest_port = 0;
};

struct ExtraDisk {
  std::string name; // also the virtio serial: the guest sees /dev/disk/by-id/virtio-<name>
  std::uint64_t size_bytes = 0;
  std::string filesystem; // empty: left blank
  std::string mount_point;
  std::string mount_options = "defaults,nofail";
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

struct InstanceSpec {
  std::string name;
  std::string image;
  unsigned cpus = 2;
  std::uint64_t memory_bytes = 2ULL << 30U;
  std::optional<std::uint64_t> disk_bytes; // absent: the base image's size
  std::vector<ExtraDisk> disks;
  std::vector<PortForward> forwards;
  Timeouts timeouts;
  seeds::SeedSpec seed; // cloud-init: users, network (with the MAC), disks, commands, ...
  std::vector<std::string> warnings;
};

struct LabSpec {
  std::string name;
  std::string source;      // file name, or "<built-in default lab>"
  std::string config_hash; // sha256 of the definition's text
  std::map<std::string, ImageSpec> images;
  std::vector<InstanceSpec> instances; // in file order

  // The instance called `instance_name`; ErrorCode::config naming the lab's instances when
  // there is none: the one wording of "no such instance" for every command.
  [[nodiscard]] Result<const InstanceSpec*> find_instance(std::string_view instance_name) const;
};

// The device path an extra disk has inside the guest (virtio-blk with serial=<name>).
[[nodiscard]] std::string guest_disk_device(std::string_view disk_name);

// 52:54:00 (QEMU's prefix) and three bytes of sha256("<lab>/<instance>").
[[nodiscard]] std::string deterministic_mac(std::string_view lab, std::string_view instance);

} // namespace kvmrun::lab
