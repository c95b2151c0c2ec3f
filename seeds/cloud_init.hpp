// cloud-init NoCloud documents (meta-data, user-data, network-config) rendered from a validated
// description of one instance. Pure: the same SeedSpec always gives the same bytes. Every value
// goes through the YAML emitter; nothing is pasted into a document as text.
#pragma once

#include "base/result.hpp"
#include "seeds/iso9660.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kvmrun::seeds {

struct UserSpec {
  std::string name;
  std::string gecos;
  std::vector<std::string> groups;
  std::string shell = "/bin/bash";
  std::string sudo; // a sudoers rule such as "ALL=(ALL) NOPASSWD:ALL"; empty: none
  std::vector<std::string> ssh_authorized_keys;
  std::string password_hash;  // crypt(3) hash; empty: no password
  std::string plain_password; // written as plain_text_passwd; the caller allowed it explicitly
  bool lock_password = true;  // lock the password (key-only login) unless one is set
};

struct WriteFileSpec {
  std::string path;
  std::string content; // UTF-8 text is written as is; other bytes are base64-encoded
  std::string permissions = "0644";
  std::string owner = "root:root";
  bool append = false;
  bool defer = false; // write after users and packages exist
};

// An extra disk: cloud-init makes its filesystem (if any) and mounts it.
struct DiskSpec {
  std::string device;      // as the guest sees it, e.g. /dev/disk/by-id/virtio-data
  std::string filesystem;  // ext4, xfs, ...; empty: use as is
  std::string label;       // filesystem label
  std::string mount_point; // empty: not mounted
  std::string mount_options = "defaults,nofail";
};

struct NetworkSpec {
  std::string mac;                      // the interface is matched by MAC (lower case)
  std::optional<std::string> address;   // CIDR, e.g. 10.0.2.15/24; absent: DHCP
  std::string gateway;                  // with a static address
  std::vector<std::string> nameservers; // with a static address
  std::vector<std::string> search;
};

// A NIC on a lab network: matched by MAC, named after its network, with a static address.
struct SegmentNicSpec {
  std::string name;    // the interface name the guest gives it (set-name)
  std::string mac;     // lower case
  std::string address; // CIDR, e.g. 192.168.122.10/24
  std::string gateway; // optional: a default route through it, behind the user-mode NIC's
};

// One line of the guest's /etc/hosts: an address and the names that resolve to it.
struct HostEntry {
  std::string address;
  std::vector<std::string> names;
};

struct AptSourceSpec {
  std::string name;   // file name under sources.list.d
  std::string source; // a "deb ..." line
  std::string key;    // ASCII-armoured key, optional
};

struct AptSpec {
  std::string proxy;
  std::string mirror; // primary archive URI
  std::vector<AptSourceSpec> sources;
};

struct SeedSpec {
  std::string name; // instance name (part of the instance-id)
  std::string hostname;
  std::vector<UserSpec> users;
  // When present, the image's default user (cloud-init's "default" entry: `debian` on Debian's
  // images) is created too, before `users`, with these keys.
  std::vector<std::string> default_user_keys;
  bool ssh_password_auth = false;
  std::string timezone;
  std::string locale;
  AptSpec apt;
  bool package_update = false;
  bool package_upgrade = false;
  std::vector<std::string> packages;
  std::vector<std::string> bootcmd;
  std::vector<std::string> runcmd;
  std::vector<WriteFileSpec> write_files;
  std::vector<DiskSpec> disks;
  bool user_nic = true; // the user-mode NIC (eth0), described by `network`
  // Whether cloud-init renames the NICs it matches by MAC (set-name): the user-mode NIC to eth0,
  // each lab-network NIC to its network's name. False: matched by MAC only, and the guest keeps
  // its own names (systemd's predictable ones such as enp0s2); the ethernets keys are labels.
  bool rename_nics = true;
  NetworkSpec network;
  std::vector<SegmentNicSpec> segment_nics;
  // The lab's members: when present, /etc/hosts is written with them (and cloud-init's
  // manage_etc_hosts, which would rewrite it at every boot, is off).
  std::vector<HostEntry> hosts;
};

struct SeedDocuments {
  std::string instance_id; // "<name>-<16 hex of the documents' digest>"
  std::string meta_data;
  std::string user_data;
  std::string network_config;
};

// The line cloud-init prints on the console when its final stage ends; the readiness gates
// look for it (with the instance-id) on the serial log.
inline constexpr std::string_view ready_marker = "kvmrun-ready";

// Fails with ErrorCode::config when a value cannot be represented (invalid UTF-8 in text).
[[nodiscard]] Result<SeedDocuments> render_seed(const SeedSpec& spec);

// The files of the cidata volume, in a fixed order; they refer into `documents`.
[[nodiscard]] std::vector<IsoFileRef> seed_files(const SeedDocuments& documents);

} // namespace kvmrun::seeds
