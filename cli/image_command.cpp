// `kvmrun image fetch|list|verify|prune`: the image cache as users see it.
#include "cli/commands.hpp"
#include "cli/lab_source.hpp"
#include "cli/views.hpp"
#include "images/cache.hpp"
#include "instance/base_images.hpp"
#include "templates/record.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace kvmrun::cli {

namespace {

std::string short_digest(const HexDigest& d) {
  return std::string(to_string(d.algorithm)) + ":" + d.hex.substr(0, 16) + "...";
}

} // namespace

int run_image(const ParsedArgs& args, std::ostream& out, std::ostream& err,
              const CliEnvironment& env) {
  const auto& pos = args.positional;
  const std::string sub = pos.empty() ? "" : pos.front();
  const std::vector<std::string> names(pos.size() > 1 ? pos.begin() + 1 : pos.end(), pos.end());
  const auto wanted = [&](const std::string& name) {
    return names.empty() || std::find(names.begin(), names.end(), name) != names.end();
  };
  const host::Dirs dirs = host::default_dirs(env.getenv, env.uid);
  images::ImageCache cache(dirs.cache / "images");

  if (sub == "fetch") {
    auto lab = resolve_lab(args, env);
    if (!lab)
      return fail(err, lab.error());
    for (const auto& name : names)
      if (!lab->images.contains(name))
        return fail(err, Error(ErrorCode::config, "no image '" + name + "' in " + lab->source));
    for (const auto& [name, spec] : lab->images) {
      if (!wanted(name))
        continue;
      auto fetched = cache.fetch(instance::image_source(spec),
                                 terminal_progress(name, env.stderr_is_terminal));
      if (!fetched)
        return fail(err, fetched.error());
      out << name << ": "
          << (fetched->downloaded ? (fetched->resumed ? "downloaded (resumed)" : "downloaded")
                                  : "cached (" + fetched->checked + ")")
          << ", " << short_digest(fetched->entry.digest) << ", " << fetched->entry.size
          << " bytes, " << fetched->entry.file.string() << "\n";
    }
    return 0;
  }
  if (sub == "list" && names.empty()) {
    const auto entries = cache.list();
    if (args.has("--json")) {
      boost::json::array list;
      for (const auto& e : entries)
        list.push_back(boost::json::object{{"name", e.name},
                                           {"digest", e.digest.label()},
                                           {"format", to_string(e.format)},
                                           {"size", e.size},
                                           {"file", e.file.string()},
                                           {"url", e.url},
                                           {"fetched_at", e.fetched_at}});
      out << boost::json::serialize(boost::json::object{{"images", std::move(list)}}) << "\n";
    } else {
      for (const auto& e : entries)
        out << e.name << "  " << short_digest(e.digest) << "  " << e.size << " bytes  "
            << e.file.string() << "\n";
      if (entries.empty())
        out << "no cached images in " << cache.root().string() << "\n";
    }
    return 0;
  }
  if (sub == "verify") {
    bool all_ok = true;
    for (const auto& e : cache.list()) {
      if (!wanted(e.name))
        continue;
      const auto v = cache.verify(e);
      all_ok = all_ok && v.ok;
      out << (v.ok ? "ok    " : "BAD   ") << e.name << "  " << e.file.string() << ": " << v.detail
          << "\n";
    }
    if (!all_ok)
      return fail(err, Error(ErrorCode::image, "a cached image does not match its digest",
                             "remove it and run kvmrun image fetch again"));
    return 0;
  }
  if (sub == "prune" && names.empty()) {
    const bool dry_run = args.has("--dry-run");
    // What instance disks and templates' disks sit on (a template's base stays while it does).
    auto in_use = instance::bases_in_use(dirs.state);
    in_use.merge(instance::bases_in_use(templates::templates_root(dirs.cache)));
    auto pruned = cache.prune(in_use, args.has("--all"), dry_run);
    if (!pruned)
      return fail(err, pruned.error());
    for (const auto& e : pruned->removed)
      out << (dry_run ? "would remove " : "removed ") << e.name << "  " << e.file.string() << "\n";
    for (const auto& e : pruned->kept_in_use)
      out << "kept (in use) " << e.name << "  " << e.file.string() << "\n";
    return 0;
  }
  return fail(err, Error(ErrorCode::usage, "usage: kvmrun image fetch [NAME...] | list | verify "
                                           "[NAME...] | prune [--all] [--dry-run]"));
}

} // namespace kvmrun::cli
