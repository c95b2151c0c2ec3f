#include "instance/guest_copy.hpp"

#include "base/digest.hpp"
#include "base/unique_fd.hpp"
#include "qmp/agent_commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

namespace kvmrun::instance {

namespace {

// 768 KiB of file is 1 MiB of base64 in one agent message.
constexpr std::size_t chunk_size = 768U << 10U;

// A shell script run in the guest with `args` as $1, $2, ... (never spliced into the script);
// its standard output, or ErrorCode::guest with what it printed on standard error.
Result<std::string> guest_sh(qmp::AgentClient& agent, const std::string& script,
                             const std::vector<std::string>& args, Deadline deadline) {
  std::vector<std::string> argv{"-c", script, "sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = qmp::guest_run(agent, "/bin/sh", argv, deadline);
  if (!r)
    return std::move(r).error();
  if (r->exit_code != 0) {
    std::string said = r->err.empty() ? r->out : r->err;
    while (!said.empty() && said.back() == '\n')
      said.pop_back();
    return Error(ErrorCode::guest,
                 said.empty() ? "exit code " + std::to_string(r->exit_code) : said);
  }
  return r->out;
}

Result<std::string> guest_sha256(qmp::AgentClient& agent, const std::string& path,
                                 Deadline deadline) {
  auto out = guest_sh(agent, "sha256sum < \"$1\"", {path}, deadline);
  if (!out)
    return std::move(out).error().add_context("checking the SHA-256 of " + path + " in the guest");
  return out->substr(0, out->find_first_of(" \n"));
}

// "directory|755|4096|path" as `stat -c '%F|%a|%s|%n'` prints it.
std::optional<GuestEntry> parse_entry(const std::string& line) {
  std::istringstream in(line);
  std::string type, mode, size, path;
  if (!std::getline(in, type, '|') || !std::getline(in, mode, '|') ||
      !std::getline(in, size, '|') || !std::getline(in, path))
    return std::nullopt;
  GuestEntry e;
  e.path = path;
  e.directory = type == "directory";
  try {
    e.mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8));
    e.size = std::stoull(size);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!e.directory && type != "regular file" && type != "regular empty file")
    return std::nullopt;
  return e;
}

std::string octal(unsigned mode) {
  std::ostringstream o;
  o << std::oct << (mode & 07777U);
  return o.str();
}

} // namespace

Result<GuestEntry> guest_stat(qmp::AgentClient& agent, const std::string& path, Deadline deadline) {
  auto out = guest_sh(agent, "stat -c '%F|%a|%s|%n' -- \"$1\"", {path}, deadline);
  if (!out)
    return Error(ErrorCode::guest, "no " + path + " in the guest (" + out.error().message() + ")",
                 "check the path: kvmrun exec INSTANCE -- ls -l DIR");
  auto e = parse_entry(out->substr(0, out->find('\n')));
  if (!e)
    return Error(ErrorCode::guest, path + " in the guest is neither a regular file nor a directory",
                 "copy regular files and directories only");
  e->path = path;
  return *e;
}

Result<std::vector<GuestEntry>> guest_tree(qmp::AgentClient& agent, const std::string& dir,
                                           Deadline deadline) {
  auto out = guest_sh(agent,
                      "cd \"$1\" && find . -mindepth 1 \\( -type d -o -type f \\) "
                      "-exec stat -c '%F|%a|%s|%n' {} +",
                      {dir}, deadline);
  if (!out)
    return std::move(out).error().add_context("listing " + dir + " in the guest");
  std::vector<GuestEntry> entries;
  std::istringstream lines(*out);
  std::string line;
  while (std::getline(lines, line)) {
    auto e = parse_entry(line);
    if (!e)
      return Error(ErrorCode::guest, "unexpected listing line from the guest: " + line);
    if (e->path.rfind("./", 0) == 0)
      e->path.erase(0, 2);
    entries.push_back(std::move(*e));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const GuestEntry& a, const GuestEntry& b) { return a.path < b.path; });
  return entries;
}

Status guest_mkdir(qmp::AgentClient& agent, const std::string& path, unsigned mode,
                   Deadline deadline) {
  auto out = guest_sh(agent, "mkdir -p -- \"$1\" && chmod \"$2\" -- \"$1\"", {path, octal(mode)},
                      deadline);
  if (!out)
    return std::move(out).error().add_context("creating " + path + " in the guest");
  return {};
}

Status upload_file(qmp::AgentClient& agent, const std::filesystem::path& local,
                   const std::string& remote, const CopyProgress& progress, Deadline deadline) {
  UniqueFd fd(::open(local.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return system_error(ErrorCode::io, "opening " + local.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return Error(ErrorCode::io, local.string() + " is not a regular file",
                 "copy regular files, or directories with -r");
  const std::string part = remote + ".kvmrun-part";
  auto handle = qmp::guest_file_open(agent, part, "w", deadline);
  if (!handle)
    return std::move(handle).error().add_context("copying " + local.string() + " to " + remote +
                                                 " in the guest; nothing was left under that name");
  Digest sha(DigestAlgorithm::sha256);
  std::string buffer(chunk_size, '\0');
  std::uint64_t done = 0;
  const auto total = static_cast<std::uint64_t>(st.st_size);
  Status status;
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      status = system_error(ErrorCode::io, "reading " + local.string(), errno);
      break;
    }
    if (n == 0)
      break;
    const std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
    sha.update(chunk);
    if (auto w = qmp::guest_file_write(agent, *handle, chunk, deadline); !w) {
      status = std::move(w).error();
      break;
    }
    done += static_cast<std::uint64_t>(n);
    if (progress)
      progress(done, total);
  }
  if (auto c = qmp::guest_file_close(agent, *handle, deadline); !c && status)
    status = std::move(c).error(); // a full disk may show only when the file is flushed
  if (status) {
    const auto want = to_hex(sha.finish());
    auto got = guest_sha256(agent, part, deadline);
    if (!got)
      status = std::move(got).error();
    else if (*got != want)
      status =
          Error(ErrorCode::guest, "the copy in the guest has SHA-256 " + *got + ", not " + want,
                "copy it again; check the guest's disk (dmesg)");
  }
  if (status) {
    auto finished = guest_sh(agent, "chmod \"$3\" -- \"$1\" && mv -f -- \"$1\" \"$2\"",
                             {part, remote, octal(st.st_mode)}, deadline);
    if (finished)
      return {};
    status = std::move(finished).error();
  }
  (void)guest_sh(agent, "rm -f -- \"$1\"", {part}, deadline);
  return Error(status.error())
      .add_context("copying " + local.string() + " to " + remote +
                   " in the guest; nothing was left under that name");
}

Status download_file(qmp::AgentClient& agent, const std::string& remote, const GuestEntry& entry,
                     const std::filesystem::path& local, const CopyProgress& progress,
                     Deadline deadline) {
  if (entry.directory)
    return Error(ErrorCode::usage, remote + " in the guest is a directory", "copy it with -r");
  const auto part = std::filesystem::path(local.string() + ".kvmrun-part");
  UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid())
    return system_error(ErrorCode::io, "creating " + part.string(), errno);
  Status status;
  Digest sha(DigestAlgorithm::sha256);
  std::uint64_t done = 0;
  auto handle = qmp::guest_file_open(agent, remote, "r", deadline);
  if (!handle)
    status = std::move(handle).error();
  while (status) {
    auto chunk = qmp::guest_file_read(agent, *handle, chunk_size, deadline);
    if (!chunk) {
      status = std::move(chunk).error();
      break;
    }
    sha.update(chunk->bytes);
    std::string_view rest = chunk->bytes;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        status = system_error(ErrorCode::io, "writing " + part.string(), n < 0 ? errno : ENOSPC);
        break;
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    done += chunk->bytes.size();
    if (progress)
      progress(done, entry.size);
    if (chunk->eof || !status)
      break;
  }
  if (handle)
    (void)qmp::guest_file_close(agent, *handle, deadline);
  if (status && ::fsync(fd.get()) != 0)
    status = system_error(ErrorCode::io, "flushing " + part.string(), errno);
  if (status) {
    const auto want = to_hex(sha.finish());
    auto got = guest_sha256(agent, remote, deadline);
    if (!got)
      status = std::move(got).error();
    else if (*got != want)
      status = Error(ErrorCode::guest,
                     remote + " has SHA-256 " + *got + " in the guest, the copy " + want +
                         " (did it change while it was copied?)",
                     "copy it again");
  }
  if (status && ::fchmod(fd.get(), entry.mode & 07777U) != 0)
    status = system_error(ErrorCode::io, "setting the mode of " + part.string(), errno);
  fd.reset();
  std::error_code ec;
  if (status) {
    std::filesystem::rename(part, local, ec);
    if (!ec)
      return {};
    status = Error(ErrorCode::io, "renaming " + part.string() + ": " + ec.message());
  }
  std::filesystem::remove(part, ec);
  return Error(status.error())
      .add_context("copying " + remote + " from the guest to " + local.string() +
                   "; nothing was left under that name");
}

} // namespace kvmrun::instance
