#include "seeds/cloud_init.hpp"

#include "base/base64.hpp"
#include "base/digest.hpp"
#include "seeds/yaml.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace kvmrun::seeds {

namespace {

using boost::json::array;
using boost::json::object;

array strings(const std::vector<std::string>& items) {
  array out;
  for (const auto& s : items)
    out.emplace_back(s);
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

object user_object(const UserSpec& u) {
  object o{{"name", u.name}};
  if (!u.gecos.empty())
    o["gecos"] = u.gecos;
  if (!u.groups.empty())
    o["groups"] = join(u.groups, ","); // the comma form every cloud-init release accepts
  o["shell"] = u.shell;
  if (!u.sudo.empty())
    o["sudo"] = u.sudo;
  const bool has_password = !u.password_hash.empty() || !u.plain_password.empty();
  o["lock_passwd"] = u.lock_password && !has_password;
  if (!u.password_hash.empty())
    o["passwd"] = u.password_hash;
  if (!u.plain_password.empty())
    o["plain_text_passwd"] = u.plain_password;
  if (!u.ssh_authorized_keys.empty())
    o["ssh_authorized_keys"] = strings(u.ssh_authorized_keys);
  return o;
}

object apt_object(const AptSpec& apt) {
  object o;
  if (!apt.proxy.empty())
    o["proxy"] = apt.proxy;
  if (!apt.mirror.empty())
    o["primary"] = array{object{{"arches", array{"default"}}, {"uri", apt.mirror}}};
  if (!apt.sources.empty()) {
    object sources;
    for (const auto& s : apt.sources) {
      object entry{{"source", s.source}};
      if (!s.key.empty())
        entry["key"] = s.key;
      sources[s.name + ".list"] = std::move(entry);
    }
    o["sources"] = std::move(sources);
  }
  return o;
}

object write_file_object(const WriteFileSpec& f) {
  object o{{"path", f.path}};
  if (is_valid_utf8(f.content)) {
    o["content"] = f.content;
  } else {
    o["encoding"] = "b64";
    o["content"] = base64_encode(f.content);
  }
  o["permissions"] = f.permissions;
  o["owner"] = f.owner;
  if (f.append)
    o["append"] = true;
  if (f.defer)
    o["defer"] = true;
  return o;
}

// /etc/hosts as Debian's cloud-init template writes it, then the lab's members.
std::string hosts_file(const SeedSpec& s) {
  std::string text = "# written by kvmrun: this instance and its lab's members\n"
                     "127.0.0.1 localhost\n"
                     "127.0.1.1 " +
                     s.hostname +
                     "\n"
                     "::1 localhost ip6-localhost ip6-loopback\n"
                     "ff02::1 ip6-allnodes\n"
                     "ff02::2 ip6-allrouters\n";
  for (const auto& h : s.hosts) {
    text += h.address;
    for (const auto& n : h.names)
      text += " " + n;
    text += "\n";
  }
  return text;
}

// `instance_id` is empty for the rendering the instance-id is computed from.
object user_data_document(const SeedSpec& s, const std::string& instance_id) {
  object doc;
  doc["hostname"] = s.hostname;
  doc["preserve_hostname"] = false;
  doc["manage_etc_hosts"] = s.hosts.empty();
  if (!s.users.empty() || !s.default_user_keys.empty()) {
    array users;
    if (!s.default_user_keys.empty())
      users.emplace_back("default");
    for (const auto& u : s.users)
      users.push_back(user_object(u));
    doc["users"] = std::move(users);
  }
  if (!s.default_user_keys.empty()) // cloud-init gives the top-level keys to the default user
    doc["ssh_authorized_keys"] = strings(s.default_user_keys);
  doc["ssh_pwauth"] = s.ssh_password_auth;
  if (!s.timezone.empty())
    doc["timezone"] = s.timezone;
  if (!s.locale.empty())
    doc["locale"] = s.locale;
  if (object apt = apt_object(s.apt); !apt.empty())
    doc["apt"] = std::move(apt);
  if (s.package_update)
    doc["package_update"] = true;
  if (s.package_upgrade)
    doc["package_upgrade"] = true;
  if (!s.packages.empty())
    doc["packages"] = strings(s.packages);
  if (!s.bootcmd.empty())
    doc["bootcmd"] = strings(s.bootcmd);
  std::vector<WriteFileSpec> files = s.write_files;
  if (!s.hosts.empty())
    files.insert(files.begin(),
                 WriteFileSpec{"/etc/hosts", hosts_file(s), "0644", "root:root", false, false});
  if (!files.empty()) {
    array list;
    for (const auto& f : files)
      list.push_back(write_file_object(f));
    doc["write_files"] = std::move(list);
  }
  array fs_setup, mounts;
  for (const auto& d : s.disks) {
    if (!d.filesystem.empty()) {
      object fs{{"device", d.device},
                {"filesystem", d.filesystem},
                {"partition", "none"},
                {"overwrite", false}};
      if (!d.label.empty())
        fs["label"] = d.label;
      fs_setup.push_back(std::move(fs));
    }
    if (!d.mount_point.empty()) {
      const std::string source = d.label.empty() ? d.device : "LABEL=" + d.label;
      mounts.push_back(array{source, d.mount_point, d.filesystem.empty() ? "auto" : d.filesystem,
                             d.mount_options, "0", "2"});
    }
  }
  if (!fs_setup.empty())
    doc["fs_setup"] = std::move(fs_setup);
  if (!mounts.empty())
    doc["mounts"] = std::move(mounts);
  if (!s.runcmd.empty())
    doc["runcmd"] = strings(s.runcmd);
  // On the serial console when cloud-init's last stage is done: the runner's boot and cloud-init
  // gates wait for this line with this instance-id.
  doc["final_message"] = std::string(ready_marker) +
                         (instance_id.empty() ? "" : " instance-id=" + instance_id) +
                         " uptime=$UPTIME datasource=$DATASOURCE version=$VERSION";
  return doc;
}

object user_nic(const NetworkSpec& n, bool rename) {
  // The interface is matched by MAC and, when renamed, named eth0: cloud-init 22.4's networkd
  // renderer writes the ethernets key as the interface's Name, so the key and set-name must
  // agree with the real name. Without renaming (netplan renders it) the key is only a label.
  object nic{{"match", object{{"macaddress", n.mac}}}};
  if (rename)
    nic["set-name"] = "eth0";
  if (!n.address) {
    nic["dhcp4"] = true;
  } else {
    nic["dhcp4"] = false;
    nic["addresses"] = array{*n.address};
    if (!n.gateway.empty())
      nic["routes"] = array{object{{"to", "0.0.0.0/0"}, {"via", n.gateway}}};
    if (!n.nameservers.empty() || !n.search.empty()) {
      object ns;
      if (!n.nameservers.empty())
        ns["addresses"] = strings(n.nameservers);
      if (!n.search.empty())
        ns["search"] = strings(n.search);
      nic["nameservers"] = std::move(ns);
    }
  }
  return nic;
}

// A NIC on a lab network: named after it (set-name, as for eth0), static, and a default route
// through the network's gateway only behind the user-mode NIC's (a higher metric).
object segment_nic(const SegmentNicSpec& n, bool rename) {
  object nic{{"match", object{{"macaddress", n.mac}}}};
  if (rename)
    nic["set-name"] = n.name;
  nic["dhcp4"] = false;
  nic["addresses"] = array{n.address};
  if (!n.gateway.empty())
    nic["routes"] = array{object{{"to", "0.0.0.0/0"}, {"via", n.gateway}, {"metric", 200}}};
  return nic;
}

object network_document(const SeedSpec& s) {
  object ethernets;
  if (s.user_nic)
    ethernets["eth0"] = user_nic(s.network, s.rename_nics);
  for (const auto& n : s.segment_nics)
    ethernets[n.name] = segment_nic(n, s.rename_nics);
  return object{{"version", 2}, {"ethernets", std::move(ethernets)}};
}

} // namespace

Result<SeedDocuments> render_seed(const SeedSpec& spec) {
  SeedDocuments docs;
  docs.user_data = "#cloud-config\n";
  if (auto status = append_yaml(user_data_document(spec, {}), docs.user_data); !status)
    return std::move(status).error().add_context("rendering user-data of " + spec.name);
  if (auto status = append_yaml(network_document(spec), docs.network_config); !status)
    return std::move(status).error().add_context("rendering network-config of " + spec.name);

  // The instance-id changes whenever anything cloud-init acts on changes, so it runs again.
  Digest d(DigestAlgorithm::sha256);
  for (std::string_view part :
       {std::string_view(spec.name), std::string_view(spec.hostname),
        std::string_view(docs.user_data), std::string_view(docs.network_config)}) {
    d.update(std::to_string(part.size()) + ":");
    d.update(part);
  }
  docs.instance_id = spec.name + "-" + to_hex(d.finish()).substr(0, 16);
  docs.user_data = "#cloud-config\n";
  if (auto status = append_yaml(user_data_document(spec, docs.instance_id), docs.user_data);
      !status)
    return std::move(status).error().add_context("rendering user-data of " + spec.name);
  auto meta = to_yaml(object{{"instance-id", docs.instance_id}, {"local-hostname", spec.hostname}});
  if (!meta)
    return std::move(meta).error().add_context("rendering meta-data of " + spec.name);
  docs.meta_data = *meta;
  return docs;
}

std::vector<IsoFileRef> seed_files(const SeedDocuments& documents) {
  return {{"meta-data", documents.meta_data},
          {"user-data", documents.user_data},
          {"network-config", documents.network_config}};
}

} // namespace kvmrun::seeds
