#include "host/kvm_probe.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace kvmrun::host {

namespace {

// Outcome codes the child reports through the pipe (one byte), then a text detail.
enum class ProbeStep : unsigned char {
  ok = 0,
  open_device,
  api_version,
  create_vm,
  guest_memory,
  create_vcpu,
  map_run,
  set_registers,
  run,
  unexpected_exit,
};

constexpr std::uint16_t probe_port = 0x3f8;
constexpr unsigned char probe_byte = 'K';
constexpr std::uint64_t guest_load_address = 0x1000;

// 16-bit real-mode code: mov dx, 0x3f8; mov al, 'K'; out dx, al; hlt
constexpr std::array<unsigned char, 8> guest_code{0xba,       0xf8, 0x03, 0xb0,
                                                  probe_byte, 0xee, 0xf4, 0xf4};

struct ChildReport {
  ProbeStep step;
  int err;
  std::uint32_t exit_reason;
};

[[noreturn]] void report_and_exit(int fd, ProbeStep step, int err, std::uint32_t exit_reason) {
  const ChildReport report{step, err, exit_reason};
  // Best effort: if the parent is gone nobody reads the report anyway.
  [[maybe_unused]] const auto n = ::write(fd, &report, sizeof report);
  ::_exit(step == ProbeStep::ok ? 0 : 1);
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void run_probe_guest(const char* dev_kvm, int report_fd) {
  const int kvm = ::open(dev_kvm, O_RDWR | O_CLOEXEC);
  if (kvm < 0)
    report_and_exit(report_fd, ProbeStep::open_device, errno, 0);
  if (::ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
    report_and_exit(report_fd, ProbeStep::api_version, errno, 0);
  const int vm = ::ioctl(kvm, KVM_CREATE_VM, 0UL);
  if (vm < 0)
    report_and_exit(report_fd, ProbeStep::create_vm, errno, 0);

  void* memory = ::mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    report_and_exit(report_fd, ProbeStep::guest_memory, errno, 0);
  std::memcpy(memory, guest_code.data(), guest_code.size());
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = guest_load_address;
  region.memory_size = 0x1000;
  region.userspace_addr = reinterpret_cast<std::uint64_t>(memory);
  if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
    report_and_exit(report_fd, ProbeStep::guest_memory, errno, 0);

  const int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0UL);
  if (vcpu < 0)
    report_and_exit(report_fd, ProbeStep::create_vcpu, errno, 0);
  const int run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0)
    report_and_exit(report_fd, ProbeStep::map_run, errno, 0);
  void* run_area = ::mmap(nullptr, static_cast<std::size_t>(run_size), PROT_READ | PROT_WRITE,
                          MAP_SHARED, vcpu, 0);
  if (run_area == MAP_FAILED)
    report_and_exit(report_fd, ProbeStep::map_run, errno, 0);
  auto* run = static_cast<kvm_run*>(run_area);

  kvm_sregs sregs{};
  if (::ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
    report_and_exit(report_fd, ProbeStep::set_registers, errno, 0);
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
    report_and_exit(report_fd, ProbeStep::set_registers, errno, 0);
  kvm_regs regs{};
  regs.rip = guest_load_address;
  regs.rflags = 0x2; // bit 1 is reserved and must be set
  if (::ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
    report_and_exit(report_fd, ProbeStep::set_registers, errno, 0);

  bool saw_byte = false;
  for (int exits = 0; exits < 16; ++exits) {
    if (::ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR)
        continue;
      report_and_exit(report_fd, ProbeStep::run, errno, 0);
    }
    if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
        run->io.port == probe_port && run->io.size == 1) {
      const auto* data = static_cast<const unsigned char*>(run_area) + run->io.data_offset;
      saw_byte = *data == probe_byte;
      continue;
    }
    if (run->exit_reason == KVM_EXIT_HLT && saw_byte)
      report_and_exit(report_fd, ProbeStep::ok, 0, 0);
    report_and_exit(report_fd, ProbeStep::unexpected_exit, 0, run->exit_reason);
  }
  report_and_exit(report_fd, ProbeStep::unexpected_exit, 0, run->exit_reason);
}

std::string describe(const ChildReport& report) {
  const auto with_errno = [&](const char* what) {
    return std::string(what) + ": " + std::strerror(report.err);
  };
  switch (report.step) {
  case ProbeStep::ok: return "a test guest ran real-mode code, wrote to a port and halted";
  case ProbeStep::open_device: return with_errno("cannot open the KVM device");
  case ProbeStep::api_version: return "the KVM API version is not 12";
  case ProbeStep::create_vm: return with_errno("KVM_CREATE_VM failed");
  case ProbeStep::guest_memory: return with_errno("cannot give the test guest memory");
  case ProbeStep::create_vcpu: return with_errno("KVM_CREATE_VCPU failed");
  case ProbeStep::map_run: return with_errno("cannot map the vCPU run area");
  case ProbeStep::set_registers: return with_errno("cannot set the vCPU registers");
  case ProbeStep::run: return with_errno("KVM_RUN failed");
  case ProbeStep::unexpected_exit:
    return "the test guest stopped with unexpected KVM exit reason " +
           std::to_string(report.exit_reason);
  }
  return "unknown probe outcome";
}

} // namespace

KvmProbeResult probe_kvm_guest(const std::filesystem::path& dev_kvm,
                               std::chrono::milliseconds timeout) {
  const auto started = std::chrono::steady_clock::now();
  KvmProbeResult result;
  const auto finish = [&](bool ran, std::string detail) {
    result.ran_guest = ran;
    result.detail = std::move(detail);
    result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    return result;
  };

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return finish(false, std::string("cannot create a pipe: ") + std::strerror(errno));
  const std::string device = dev_kvm.string();
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return finish(false, std::string("cannot fork the probe: ") + std::strerror(err));
  }
  if (child == 0) {
    ::close(fds[0]);
    run_probe_guest(device.c_str(), fds[1]);
  }
  ::close(fds[1]);

  ChildReport report{};
  std::size_t received = 0;
  bool timed_out = false;
  auto* bytes = reinterpret_cast<unsigned char*>(&report);
  while (received < sizeof report) {
    const auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started);
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready == 0) {
      timed_out = true;
      break;
    }
    const auto n = ::read(fds[0], bytes + received, sizeof report - received);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // the child died without a full report
    received += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  if (timed_out)
    ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }

  if (timed_out)
    return finish(false, "the test guest did not halt within " + std::to_string(timeout.count()) +
                             " ms (KVM_RUN hung; the probe was killed)");
  if (received < sizeof report) {
    if (WIFSIGNALED(status))
      return finish(false,
                    std::string("the probe died from signal ") + ::strsignal(WTERMSIG(status)));
    return finish(false, "the probe ended without a report");
  }
  return finish(report.step == ProbeStep::ok, describe(report));
}

} // namespace kvmrun::host
