//! `virtual_server_group` (addresses expanded to services later) and DPVS's
//! `local_address_group` (FULLNAT source addresses).

use super::{Builder, VsGroup, VsGroupEntry};
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::{LocalAddress, LocalAddressGroup};

/// Most services one virtual_server_group (or local addresses one group) may expand to.
const MAX_GROUP_ADDRESSES: usize = 65_536;

impl Builder<'_> {
    /// `virtual_server_group NAME { ADDRESS|RANGE|CIDR [PORT] ... }`.
    pub(super) fn virtual_server_group(&mut self, node: &Node) {
        let Some(name) = self.group_name(node) else {
            return;
        };
        let mut group = VsGroup::default();
        for line in self.block(node) {
            if line.block.is_some() {
                self.diag.error(
                    &line.at,
                    "a virtual_server_group entry does not take a { } block",
                );
                continue;
            }
            if line.keyword() == "fwmark" {
                self.diag.warn(
                    &line.at,
                    "fwmark entries are not supported by rvs (it has no netfilter marks): skipped",
                );
                continue;
            }
            let addrs = match values::address_range(line.keyword(), MAX_GROUP_ADDRESSES) {
                Ok(a) => a,
                Err(msg) => {
                    self.diag
                        .error(&line.at, format!("virtual_server_group {name}: {msg}"));
                    continue;
                }
            };
            let port = match line.arg(0) {
                None => 0,
                Some(p) => match values::port(p) {
                    Ok(p) => p,
                    Err(msg) => {
                        self.diag
                            .error(&line.at, format!("virtual_server_group {name}: {msg}"));
                        continue;
                    }
                },
            };
            if line.args().len() > 1 {
                self.extra_words(line, 1);
            }
            group.entries.push(VsGroupEntry {
                addrs,
                port,
                at: line.at.clone(),
            });
        }
        if group.entries.is_empty() {
            self.diag.warn(
                &node.at,
                format!(
                    "virtual_server_group {name} has no address entries (keepalived removes it)"
                ),
            );
        }
        if self.groups.insert(name.clone(), group).is_some() {
            self.diag.error(
                &node.at,
                format!("virtual_server_group {name} is defined twice"),
            );
        }
    }

    /// The one name after a block keyword (`vrrp_instance NAME`, `..._group NAME`).
    pub(super) fn group_name(&mut self, node: &Node) -> Option<String> {
        match node.args() {
            [name] => Some(name.text.clone()),
            [] => {
                self.diag
                    .error(&node.at, format!("{} needs a name", node.keyword()));
                None
            }
            [name, ..] => {
                self.extra_words(node, 1);
                Some(name.text.clone())
            }
        }
    }

    /// DPVS's `local_address_group NAME { ADDR [PORT] ... }` (FULLNAT source addresses).
    pub(super) fn local_address_group(&mut self, node: &Node) {
        let Some(name) = self.group_name(node) else {
            return;
        };
        let path = format!("local_address_groups.{name}");
        if self.cfg.local_address_groups.contains_key(&name) {
            self.diag.error(
                &node.at,
                format!("local_address_group {name} is defined twice"),
            );
            return;
        }
        self.spans.insert(path.clone(), node.at.clone());
        let mut group = LocalAddressGroup {
            addresses: Vec::new(),
        };
        for line in self.block(node) {
            if line.block.is_some() {
                self.diag.error(
                    &line.at,
                    "a local_address_group entry does not take a { } block",
                );
                continue;
            }
            match values::address_range(line.keyword(), MAX_GROUP_ADDRESSES) {
                Ok(addrs) => {
                    let port = line.arg(0).map(str::to_string);
                    if line.args().len() > 1 {
                        self.extra_words(line, 1);
                    }
                    for address in addrs {
                        self.spans.insert(
                            format!("{path}.addresses[{}]", group.addresses.len()),
                            line.at.clone(),
                        );
                        group.addresses.push(LocalAddress {
                            address,
                            port: port.clone(),
                        });
                    }
                }
                Err(msg) => self
                    .diag
                    .error(&line.at, format!("local_address_group {name}: {msg}")),
            }
        }
        self.cfg.local_address_groups.insert(name, group);
    }
}
