// A template: a ready guest saved once (`kvmrun template save`), from which clones start in
// well under a second instead of booting. The one description of its files and its record:
//
//   <cache>/templates/<name>/template.json   this record (0444)
//                            state           QEMU's migration stream: RAM and device state
//                            disk.qcow2      the root disk as saved, over the image-cache base
//                            disk-<d>.qcow2  each extra disk as saved
//                            efivars.fd      the UEFI variables (UEFI images)
//
// Every file is 0444 and has its sha256 and stamp (size, inode, mtime) in the record; a clone's
// own qcow2 overlays sit on the disks, which are never written again. A template is published
// by renaming its finished directory into place, so it is complete or absent.
#pragma once

#include "base/file_stamp.hpp"
#include "base/result.hpp"
#include "lab/lab_spec.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrun::templates {

struct TemplateFile {
  std::string role; // "state", "disk", "disk-<name>", "efivars"
  std::string file; // its name in the template's directory
  std::string sha256;
  FileStamp stamp; // as it was when hashed
};

// A NIC as the saved guest has it: the restored device keeps this MAC (it is device state), and
// the guest keeps its address.
struct TemplateNic {
  std::string network; // "" for the user-mode NIC
  std::string mac;
  std::string address; // "" for DHCP
};

struct TemplateRecord {
  std::string name;
  std::string created; // UTC, as evidence records a moment: "2026-12-01T17:42:00.123Z"
  // Where it came from.
  std::string lab;
  std::string instance;
  std::string instance_id; // the seed the guest was provisioned with (its cloud-init ran then)
  std::string image;
  std::string base_digest; // of the image-cache entry the root disk sits on
  std::string base_file;
  std::string hostname;
  // What a restore must match (check_clone below).
  std::string qemu_version; // "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"
  std::string accel;        // "tcg" or "kvm"
  unsigned cpus = 0;
  std::uint64_t memory_bytes = 0;
  std::string firmware;      // "bios", "uefi", "uefi-secure"
  std::string firmware_code; // the OVMF code file (UEFI), and its sha256
  std::string firmware_sha256;
  std::vector<std::string> devices; // device_set() of its QEMU command line
  std::vector<TemplateNic> nics;
  std::vector<std::string> disks; // extra disks' names, in order
  std::vector<TemplateFile> files;
  // How the save went.
  std::uint64_t state_bytes = 0;
  std::uint64_t ram_bytes = 0;
  std::uint64_t save_ms = 0;  // pause to state file written
  std::string instance_after; // "stopped" or "resumed"
};

[[nodiscard]] std::filesystem::path templates_root(const std::filesystem::path& cache_dir);
[[nodiscard]] std::filesystem::path record_file(const std::filesystem::path& dir);
inline constexpr std::string_view state_file_name = "state";

// What must be the same in a template's QEMU and a clone's for the saved device state to load:
// the -machine, -accel, -cpu, -smp, -m and every -device of the command line, in order, with a
// NIC's mac= left out (the restored NIC keeps the template's MAC whatever the option says).
[[nodiscard]] std::vector<std::string> device_set(const std::vector<std::string>& argv);

[[nodiscard]] std::string firmware_name(lab::Firmware firmware);

// Durable, 0444 (replacing is not done: a template's record is written once).
[[nodiscard]] Status write_record(const std::filesystem::path& dir, const TemplateRecord& record);
// ErrorCode::config when the template does not exist (naming `template list` and `save`),
// ErrorCode::io naming the file and field when its record is torn, edited or of another shape.
[[nodiscard]] Result<TemplateRecord> read_record(const std::filesystem::path& dir);

// Every template under `root`, by name; a damaged one is listed with its error.
struct Listed {
  std::string name;
  Result<TemplateRecord> record;
};
[[nodiscard]] std::vector<Listed> list_templates(const std::filesystem::path& root);

// Each file's bytes against its digest: quickly (its stamp as recorded; a changed stamp means
// a full hash) or in full. ErrorCode::image naming the file, its expected and found digests and
// the remedy (save the template again) on a mismatch or a missing file.
[[nodiscard]] Status verify_files(const std::filesystem::path& dir, const TemplateRecord& record,
                                  bool full, std::string* how = nullptr);

// What a clone would get, to compare with its template before QEMU starts.
struct CloneHost {
  std::string qemu_version; // the QEMU `up` runs, as check_clone compares it
  std::string accel;
  std::string firmware_sha256; // of the OVMF code it would use ("" for BIOS)
  std::vector<std::string> argv;
};
// Refuses (before QEMU starts) a clone whose QEMU version, accelerator, CPU count, memory size,
// image, firmware or device set differs from its template's, naming both values and a remedy.
[[nodiscard]] Status check_clone(const TemplateRecord& record, const lab::InstanceSpec& clone,
                                 const lab::ImageSpec& image, const CloneHost& host);

// "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" from `qemu-system-x86_64 --version`'s first line.
[[nodiscard]] std::string qemu_version_of(std::string_view version_line);

// A clone takes its template's NICs: the user-mode NIC's MAC and address and each lab-network
// NIC's (by network, which must be the template's, in order). ErrorCode::config naming the
// difference when the clone's networks are not the template's.
[[nodiscard]] Status adopt_nics(const TemplateRecord& record, lab::InstanceSpec& clone);

} // namespace kvmrun::templates
