// Lab networks in the lab definition: [networks.NAME] tables, each instance's `networks`
// attachments and `user_network`, their cross-checks, and what each instance's seed gets from
// them (its NICs on the segments and an /etc/hosts naming every member). Private to lab/.
#pragma once

#include "lab/lab_spec.hpp"
#include "lab/toml_scope.hpp"

namespace kvmrun::lab {

// [networks.NAME] tables, in file order.
void read_networks(toml_view::Scope& top, const toml::table& root, toml_view::Problems& problems,
                   LabSpec& lab);

// An instance's `networks = [{ name, address, mac }]` and `user_network`.
void read_attachments(toml_view::Scope& s, const std::string& lab, InstanceSpec& inst);

// Across the lab: attachments name declared networks, addresses lie inside their subnet and are
// unique, MACs are unique over every NIC, one instance's subnets do not overlap (nor user
// networking's 10.0.2.0/24), forwards need the user-mode NIC. Then fills each seed's
// segment_nics and hosts.
void check_networks(toml_view::Problems& problems, const toml::table& root, LabSpec& lab);

} // namespace kvmrun::lab
