// qcow2 images written by kvmrun, judged by qemu-img; images made by qemu-img, judged by kvmrun;
// and a real QEMU booting from a kvmrun overlay, writing to it, leaving the base untouched.
#include "base/digest.hpp"
#include "base/file_io.hpp"
#include "base/subprocess.hpp"
#include "images/qcow2.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace kvmrun::images {
namespace {

using namespace std::chrono_literals;

CommandOutput run_ok(const std::vector<std::string>& argv) {
  auto r = run_command(argv, CommandOptions{120s, 1U << 20U});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
  if (!r.ok())
    return {};
  EXPECT_TRUE(r->success()) << argv[0] << " " << argv[1] << ": " << r->out << r->err;
  return *r;
}

#define REQUIRE_TOOL(tool)                                                                         \
  if (!find_executable(tool))                                                                      \
  GTEST_SKIP() << tool << " is not installed (scripts/setup-deps installs it)"

boost::json::object qemu_img_info(const std::filesystem::path& p) {
  return boost::json::parse(run_ok({"qemu-img", "info", "--output=json", p.string()}).out)
      .as_object();
}

TEST(Qcow2WithQemuImg, BlankImagesOfManySizesAndClusterSizesCheckClean) {
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  int n = 0;
  for (const unsigned bits : {9U, 12U, 16U, 21U})
    for (const std::uint64_t size :
         {512ULL, 1ULL << 20U, (1ULL << 30U) + 512, 100ULL << 30U, 2ULL << 40U}) {
      if (bits == 9 && size > (100ULL << 30U))
        continue; // 512-byte clusters cannot address 2 TiB within QEMU's 32 MiB L1 limit
      const auto path = dir / ("blank-" + std::to_string(n++) + ".qcow2");
      ASSERT_TRUE(create_qcow2(path, Qcow2Spec{size, bits, "", DiskFormat::qcow2}).ok());
      const auto check = run_ok({"qemu-img", "check", path.string()});
      EXPECT_NE(check.out.find("No errors were found"), std::string::npos) << path << check.out;
      const auto info = qemu_img_info(path);
      EXPECT_EQ(info.at("virtual-size").to_number<std::uint64_t>(), size) << path;
      EXPECT_EQ(info.at("cluster-size").to_number<std::uint64_t>(), 1ULL << bits) << path;
    }
}

TEST(Qcow2WithQemuImg, OverlaysRecordBackingFileAndFormatExplicitly) {
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  run_ok({"qemu-img", "create", "-f", "raw", (dir / "base.raw").string(), "64M"});
  run_ok({"qemu-img", "create", "-f", "qcow2", (dir / "base.qcow2").string(), "1G"});
  for (const auto& [base, format] : std::vector<std::pair<std::string, DiskFormat>>{
           {"base.raw", DiskFormat::raw}, {"base.qcow2", DiskFormat::qcow2}}) {
    const auto overlay = dir / ("over-" + base + ".qcow2");
    const auto info = inspect_image(dir / base, format);
    ASSERT_TRUE(info.ok());
    ASSERT_TRUE(
        create_qcow2(overlay, Qcow2Spec{info->virtual_size, 16, (dir / base).string(), format})
            .ok());
    EXPECT_NE(run_ok({"qemu-img", "check", overlay.string()}).out.find("No errors"),
              std::string::npos);
    const auto q = qemu_img_info(overlay);
    EXPECT_EQ(q.at("backing-filename").as_string(), (dir / base).string());
    EXPECT_EQ(q.at("backing-filename-format").as_string(), to_string(format));
    EXPECT_EQ(q.at("virtual-size").to_number<std::uint64_t>(), info->virtual_size);
  }
}

TEST(Qcow2WithQemuImg, TheInspectorReadsWhatQemuImgWrites) {
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  const auto img = [&](const std::string& name) { return (dir / name).string(); };
  run_ok({"qemu-img", "create", "-f", "qcow2", img("plain.qcow2"), "3G"});
  run_ok({"qemu-img", "create", "-f", "qcow2", "-o", "compat=0.10", img("v2.qcow2"), "1G"});
  run_ok({"qemu-img", "create", "-f", "qcow2", "-o", "lazy_refcounts=on", img("lazy.qcow2"), "1G"});
  run_ok({"qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=2M", img("big.qcow2"), "1G"});
  run_ok({"qemu-img", "create", "-f", "qcow2", "-o", "extended_l2=on", img("l2.qcow2"), "1G"});
  run_ok({"qemu-img", "create", "-f", "qcow2", "-o", "refcount_bits=64", img("rc.qcow2"), "1G"});
  run_ok({"qemu-img", "create", "-f", "qcow2", "-b", img("plain.qcow2"), "-F", "qcow2",
          img("child.qcow2")});

  auto plain = inspect_image(img("plain.qcow2"), DiskFormat::qcow2);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->virtual_size, 3ULL << 30U);
  EXPECT_TRUE(plain->unsafe_as_base().empty());
  EXPECT_EQ(inspect_image(img("v2.qcow2"), DiskFormat::qcow2)->version, 2U);
  EXPECT_EQ(inspect_image(img("lazy.qcow2"), DiskFormat::qcow2)->compatible_features, 1U);
  EXPECT_EQ(inspect_image(img("big.qcow2"), DiskFormat::qcow2)->cluster_bits, 21U);
  EXPECT_TRUE(inspect_image(img("l2.qcow2"), DiskFormat::qcow2)->problems.empty());
  EXPECT_EQ(inspect_image(img("rc.qcow2"), DiskFormat::qcow2)->refcount_bits, 64U);
  const auto child = inspect_chain(img("child.qcow2"), DiskFormat::qcow2);
  ASSERT_TRUE(child.ok()) << child.error().describe();
  ASSERT_EQ(child->size(), 2U);
  EXPECT_EQ((*child)[0].backing_file, img("plain.qcow2"));
  EXPECT_FALSE((*child)[0].unsafe_as_base().empty());
}

TEST(Qcow2WithQemuImg, UnsafeImagesFromQemuImgAreRefusedWithTheReason) {
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  const auto img = [&](const std::string& name) { return (dir / name).string(); };
  run_ok({"qemu-img", "create", "-f", "qcow2", "-o", "data_file=" + img("data.raw"),
          img("ext.qcow2"), "1G"});
  const auto ext = inspect_image(img("ext.qcow2"), DiskFormat::qcow2);
  ASSERT_TRUE(ext.ok());
  ASSERT_FALSE(ext->problems.empty());
  EXPECT_NE(ext->problems[0].find("external data file"), std::string::npos);

  // LUKS creation times its key derivation and, on a loaded machine, sometimes refuses with
  // "Unable to get accurate CPU usage": try a few times.
  bool made_luks = false;
  for (int attempt = 0; attempt < 5 && !made_luks; ++attempt) {
    const auto r =
        run_command({"qemu-img", "create", "-f", "qcow2", "--object", "secret,id=s0,data=123456",
                     "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=50",
                     img("luks.qcow2"), "16M"});
    made_luks = r.ok() && r->success();
  }
  if (made_luks) {
    const auto luks = inspect_image(img("luks.qcow2"), DiskFormat::qcow2);
    ASSERT_TRUE(luks.ok());
    EXPECT_FALSE(luks->problems.empty());
  } else {
    ADD_FAILURE() << "qemu-img could not create a LUKS image in five attempts";
  }

  // The corrupt bit, set in a qemu-img image: qemu-img check agrees it is marked corrupt.
  run_ok({"qemu-img", "create", "-f", "qcow2", img("bad.qcow2"), "1G"});
  auto bytes = *read_file(img("bad.qcow2"));
  bytes[79] = static_cast<char>(bytes[79] | 2);
  ASSERT_TRUE(write_file_atomic(img("bad.qcow2"), bytes).ok());
  const auto bad = inspect_image(img("bad.qcow2"), DiskFormat::qcow2);
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(bad->corrupt());
  EXPECT_FALSE(bad->unsafe_as_base().empty());
}

TEST(Qcow2WithQemuImg, MissingOrLoopingBackingFilesStopTheChain) {
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  ASSERT_TRUE(create_qcow2(dir / "orphan.qcow2",
                           Qcow2Spec{1 << 20, 16, (dir / "gone.qcow2").string(), DiskFormat::qcow2})
                  .ok());
  const auto orphan = inspect_chain(dir / "orphan.qcow2", DiskFormat::qcow2);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code(), ErrorCode::io);
  ASSERT_TRUE(
      create_qcow2(dir / "a.qcow2", Qcow2Spec{1 << 20, 16, "b.qcow2", DiskFormat::qcow2}).ok());
  ASSERT_TRUE(
      create_qcow2(dir / "b.qcow2", Qcow2Spec{1 << 20, 16, "a.qcow2", DiskFormat::qcow2}).ok());
  const auto loop = inspect_chain(dir / "a.qcow2", DiskFormat::qcow2);
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message().find("loops"), std::string::npos);
}

TEST(Qcow2WithQemuImg, DeclaringTheWrongFormatIsCaughtNotProbed) {
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  run_ok({"qemu-img", "create", "-f", "raw", (dir / "disk.raw").string(), "1M"});
  const auto r = inspect_image(dir / "disk.raw", DiskFormat::qcow2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no qcow2 magic"), std::string::npos);
  ASSERT_TRUE(create_qcow2(dir / "q.qcow2", Qcow2Spec{1 << 20, 16, "", DiskFormat::qcow2}).ok());
  const auto as_raw = inspect_image(dir / "q.qcow2", DiskFormat::raw);
  ASSERT_TRUE(as_raw.ok());
  EXPECT_FALSE(as_raw->notes.empty());
}

// A boot sector that writes 512 bytes of 0xAB to the disk's second sector through the BIOS
// (int 13h), prints W (or E) on the debug console and exits QEMU through isa-debug-exit.
std::string boot_sector() {
  const unsigned char code[] = {
      0xFC,                   // cld
      0x31, 0xC0,             // xor ax, ax
      0x8E, 0xD8,             // mov ds, ax
      0x8E, 0xC0,             // mov es, ax
      0xBF, 0x00, 0x80,       // mov di, 0x8000
      0xB9, 0x00, 0x02,       // mov cx, 512
      0xB0, 0xAB,             // mov al, 0xAB
      0xF3, 0xAA,             // rep stosb
      0xB8, 0x01, 0x03,       // mov ax, 0x0301 (write 1 sector)
      0xB9, 0x02, 0x00,       // mov cx, 0x0002 (cylinder 0, sector 2)
      0x30, 0xF6,             // xor dh, dh (head 0; dl: boot drive from the BIOS)
      0xBB, 0x00, 0x80,       // mov bx, 0x8000
      0xCD, 0x13,             // int 0x13
      0x72, 0x04,             // jc fail
      0xB0, 'W',              // mov al, 'W'
      0xEB, 0x02,             // jmp report
      0xB0, 'E',              // fail: mov al, 'E'
      0xE6, 0xE9,             // report: out 0xE9, al (debugcon)
      0xE6, 0xF4,             // out 0xF4, al (isa-debug-exit: QEMU exits (al << 1) | 1)
      0xFA, 0xF4, 0xEB, 0xFD, // cli; hlt; jmp back
  };
  std::string sector(512, '\0');
  std::copy(std::begin(code), std::end(code), sector.begin());
  sector[510] = static_cast<char>(0x55);
  sector[511] = static_cast<char>(0xAA);
  return sector;
}

TEST(Qcow2WithQemu, AGuestWritesToAnOverlayAndTheBaseStaysByteIdentical) {
  REQUIRE_TOOL("qemu-system-x86_64");
  REQUIRE_TOOL("qemu-img");
  testing::TempDir dir;
  const auto base = dir / "base.raw";
  ASSERT_TRUE(write_file_atomic(base, boot_sector() + std::string((1 << 20) - 512, '\0')).ok());
  for (const auto& [base_path, format] : std::vector<std::pair<std::filesystem::path, DiskFormat>>{
           {base, DiskFormat::raw}, {dir / "base.qcow2", DiskFormat::qcow2}}) {
    if (format == DiskFormat::qcow2)
      run_ok(
          {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", base.string(), base_path.string()});
    const std::string before = sha256_hex(*read_file(base_path));
    const auto overlay = dir / ("overlay-" + std::string(to_string(format)) + ".qcow2");
    const auto info = inspect_image(base_path, format);
    ASSERT_TRUE(info.ok());
    ASSERT_TRUE(
        create_qcow2(overlay, Qcow2Spec{info->virtual_size, 16, base_path.string(), format}).ok());

    const auto qemu = run_command({"qemu-system-x86_64",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-machine",
                                   "q35",
                                   "-accel",
                                   "tcg",
                                   "-display",
                                   "none",
                                   "-m",
                                   "64",
                                   "-blockdev",
                                   "driver=file,filename=" + overlay.string() + ",node-name=file0",
                                   "-blockdev",
                                   "driver=qcow2,file=file0,node-name=disk0",
                                   "-device",
                                   "virtio-blk-pci,drive=disk0,bootindex=1",
                                   "-debugcon",
                                   "file:" + (dir / "debugcon.txt").string(),
                                   "-device",
                                   "isa-debug-exit,iobase=0xf4,iosize=0x04"},
                                  CommandOptions{120s, 1U << 20U});
    ASSERT_TRUE(qemu.ok()) << qemu.error().describe();
    EXPECT_EQ(qemu->exit_code, ('W' << 1) | 1) << qemu->err << *read_file(dir / "debugcon.txt");

    EXPECT_EQ(sha256_hex(*read_file(base_path)), before) << "the base image changed";
    EXPECT_NE(run_ok({"qemu-img", "check", overlay.string()}).out.find("No errors"),
              std::string::npos);
    run_ok({"qemu-img", "convert", "-f", "qcow2", "-O", "raw", overlay.string(),
            (dir / "flat.raw").string()});
    const auto flat = *read_file(dir / "flat.raw");
    EXPECT_EQ(flat.substr(512, 512), std::string(512, '\xAB')) << "the guest's write is missing";
    EXPECT_EQ(flat.substr(0, 512), boot_sector()) << "the base's data does not show through";
  }
}

} // namespace
} // namespace kvmrun::images
