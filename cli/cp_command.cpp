// `kvmrun cp [-r] SRC... DST`: files between this host and a running instance through its guest
// agent (instance/guest_copy.hpp), with INSTANCE:/PATH on one side, as scp has it: into DST when
// it is a directory, as DST otherwise; directories with -r, modes kept.
#include "cli/commands.hpp"
#include "cli/lab_context.hpp"
#include "cli/views.hpp"
#include "instance/guest_copy.hpp"
#include "instance/qemu_process.hpp"
#include "qmp/agent_client.hpp"

namespace kvmrun::cli {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view usage = "kvmrun cp [-r] SRC... DST (INSTANCE:/PATH on one side)";

struct Place {
  std::string instance; // empty: this host
  std::string path;
};

Place place_of(const std::string& arg) {
  const auto colon = arg.find(':');
  const auto slash = arg.find('/');
  if (colon == std::string::npos || colon == 0 || (slash != std::string::npos && slash < colon))
    return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  const auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string joined(const std::string& dir, const std::string& name) {
  return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

// Room for a slow guest: ten minutes, and a second per MiB on top.
Deadline deadline_for(std::uint64_t bytes) {
  return deadline_after(std::chrono::minutes(10) + std::chrono::seconds(bytes >> 20U));
}

class Copy {
public:
  Copy(qmp::AgentClient& agent, bool recursive, const CliEnvironment& env)
      : m_agent(agent), m_recursive(recursive), m_env(env) {}

  Status upload(const std::filesystem::path& src, const std::string& dst) {
    std::error_code ec;
    const auto status = std::filesystem::status(src, ec);
    if (ec || !std::filesystem::exists(status))
      return Error(ErrorCode::io, "no " + src.string() + " on this host", "check the path");
    if (!std::filesystem::is_directory(status))
      return file_up(src, dst);
    if (!m_recursive)
      return Error(ErrorCode::usage, src.string() + " is a directory", "copy it with -r");
    if (auto s = instance::guest_mkdir(m_agent, dst, mode_of(status), deadline_for(0)); !s)
      return s;
    for (auto it = std::filesystem::recursive_directory_iterator(src, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const auto remote = joined(dst, std::filesystem::relative(it->path(), src).string());
      const auto st = it->symlink_status(ec);
      Status s;
      if (std::filesystem::is_directory(st))
        s = instance::guest_mkdir(m_agent, remote, mode_of(st), deadline_for(0));
      else if (std::filesystem::is_regular_file(st))
        s = file_up(it->path(), remote);
      if (!s)
        return s;
    }
    if (ec)
      return Error(ErrorCode::io, "reading the directory " + src.string() + ": " + ec.message());
    return {};
  }

  Status download(const std::string& src, const std::filesystem::path& dst) {
    auto entry = instance::guest_stat(m_agent, src, deadline_for(0));
    if (!entry)
      return std::move(entry).error();
    if (!entry->directory)
      return file_down(src, *entry, dst);
    if (!m_recursive)
      return Error(ErrorCode::usage, src + " in the guest is a directory", "copy it with -r");
    auto tree = instance::guest_tree(m_agent, src, deadline_for(0));
    if (!tree)
      return std::move(tree).error();
    if (auto s = local_dir(dst, entry->mode); !s)
      return s;
    for (const auto& e : *tree) {
      const auto local = dst / e.path;
      auto s = e.directory ? local_dir(local, e.mode) : file_down(joined(src, e.path), e, local);
      if (!s)
        return s;
    }
    return {};
  }

private:
  static unsigned mode_of(const std::filesystem::file_status& st) {
    return static_cast<unsigned>(st.permissions()) & 07777U;
  }

  static Status local_dir(const std::filesystem::path& dir, unsigned mode) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!ec)
      std::filesystem::permissions(dir, static_cast<std::filesystem::perms>(mode), ec);
    if (ec)
      return Error(ErrorCode::io, "creating " + dir.string() + ": " + ec.message());
    return {};
  }

  Status file_up(const std::filesystem::path& src, const std::string& dst) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(src, ec);
    return instance::upload_file(m_agent, src, dst, progress(src.filename().string(), size),
                                 deadline_for(ec ? 0 : size));
  }

  // `entry`: what guest_stat or guest_tree already found there (no second look).
  Status file_down(const std::string& src, const instance::GuestEntry& entry,
                   const std::filesystem::path& dst) {
    return instance::download_file(m_agent, src, entry, dst, progress(base_name(src), entry.size),
                                   deadline_for(entry.size));
  }

  // A bar on a terminal for files that take a moment (4 MiB and more).
  instance::CopyProgress progress(const std::string& name, std::uint64_t size) const {
    if (size < (4U << 20U))
      return {};
    return terminal_progress(name, m_env.stderr_is_terminal);
  }

  qmp::AgentClient& m_agent;
  bool m_recursive;
  const CliEnvironment& m_env;
};

} // namespace

int run_cp(const ParsedArgs& args, std::ostream&, std::ostream& err, const CliEnvironment& env) {
  if (args.positional.size() < 2)
    return fail(err, Error(ErrorCode::usage, "cp needs a source and a destination",
                           "usage: " + std::string(usage)));
  std::vector<Place> sources;
  for (std::size_t i = 0; i + 1 < args.positional.size(); ++i)
    sources.push_back(place_of(args.positional[i]));
  const Place dst = place_of(args.positional.back());
  const bool up = !dst.instance.empty();
  std::string name = dst.instance;
  for (const auto& s : sources) {
    if (up ? !s.instance.empty() : s.instance.empty())
      return fail(err, Error(ErrorCode::usage,
                             "cp copies between this host and one instance: " +
                                 std::string(up ? "every source must be on this host when the "
                                                  "destination is INSTANCE:PATH"
                                                : "every source must be INSTANCE:PATH when the "
                                                  "destination is on this host"),
                             "usage: " + std::string(usage)));
    if (!up && !name.empty() && s.instance != name)
      return fail(err, Error(ErrorCode::usage, "cp copies from one instance at a time, not from " +
                                                   name + " and " + s.instance));
    if (!up)
      name = s.instance;
  }
  std::vector<std::string> guest_paths;
  if (up)
    guest_paths.push_back(dst.path);
  else
    for (const auto& s : sources)
      guest_paths.push_back(s.path);
  for (const auto& p : guest_paths)
    if (!p.starts_with('/'))
      return fail(err,
                  Error(ErrorCode::usage, "a path in the guest must be absolute, got '" + p + "'",
                        "write INSTANCE:/PATH"));
  auto ctx = open_lab(args, env, {name});
  if (!ctx)
    return fail(err, ctx.error());
  const auto* instance = ctx->selected.front();
  const auto paths = ctx->paths(*instance);
  if (!instance::running_pid(paths, ctx->lab.name, instance->name))
    return fail(err, not_running(*instance));
  EventLoop loop;
  qmp::AgentClient agent(loop);
  if (auto c = agent.connect(paths.agent_socket()); !c)
    return fail(err, c.error());
  Copy copy(agent, args.has("--recursive"), env);

  if (up) {
    auto there = instance::guest_stat(agent, dst.path, deadline_for(0));
    const bool into = there && there->directory;
    if (sources.size() > 1 && !into)
      return fail(err, Error(ErrorCode::usage,
                             dst.instance + ":" + dst.path + " is not a directory in the guest",
                             "copy several sources into an existing directory"));
    for (const auto& s : sources)
      if (auto r = copy.upload(s.path, into ? joined(dst.path, base_name(s.path)) : dst.path); !r)
        return fail(err, r.error());
    return 0;
  }
  std::error_code ec;
  const bool into = std::filesystem::is_directory(dst.path, ec);
  if (sources.size() > 1 && !into)
    return fail(err, Error(ErrorCode::usage, dst.path + " is not a directory",
                           "copy several sources into an existing directory"));
  for (const auto& s : sources) {
    const std::filesystem::path target = into ? std::filesystem::path(dst.path) / base_name(s.path)
                                              : std::filesystem::path(dst.path);
    if (auto r = copy.download(s.path, target); !r)
      return fail(err, r.error());
  }
  return 0;
}

} // namespace kvmrun::cli
