//! VRRP instances, scripts and sync groups, with the limits of RFC 3768 (v2) and RFC 5798
//! (v3) as keepalived applies them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::{Problems, seconds_in};
use crate::config::suggest::suggest;
use crate::config::{Config, Tracked, VrrpAuth, VrrpInstance};

pub(super) fn check(cfg: &Config, errs: &mut Problems) {
    if let Some(v) = cfg.global.vrrp_version
        && !(2..=3).contains(&v)
    {
        errs.push(
            "global.vrrp_version",
            format!("VRRP version {v} is not 2 or 3"),
        );
    }
    for (name, script) in &cfg.vrrp_scripts {
        let path = format!("vrrp_scripts.{name}");
        if script.script.trim().is_empty() {
            errs.push(
                format!("{path}.script"),
                "a vrrp_script needs a command (script)",
            );
        }
        if !seconds_in(script.interval, 0.000_001, 86_400.0) {
            errs.push(
                format!("{path}.interval"),
                format!(
                    "interval {} must be a positive number of seconds",
                    script.interval
                ),
            );
        }
        if let Some(t) = script.timeout
            && !seconds_in(t, 0.000_001, 86_400.0)
        {
            errs.push(
                format!("{path}.timeout"),
                format!("timeout {t} must be a positive number of seconds"),
            );
        }
        if !(-253..=253).contains(&script.weight) {
            errs.push(
                format!("{path}.weight"),
                format!("weight {} is out of range -253..=253", script.weight),
            );
        }
        if script.rise == 0 {
            errs.push(format!("{path}.rise"), "rise must be at least 1");
        }
        if script.fall == 0 {
            errs.push(format!("{path}.fall"), "fall must be at least 1");
        }
    }

    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut vrids: HashMap<(&str, bool, u8), usize> = HashMap::new();
    for (i, inst) in cfg.vrrp_instances.iter().enumerate() {
        let path = format!("vrrp_instances[{i}]");
        if inst.name.is_empty() {
            errs.push(format!("{path}.name"), "a VRRP instance needs a name");
        } else if let Some(first) = names.insert(inst.name.as_str(), i) {
            errs.push(
                format!("{path}.name"),
                format!(
                    "VRRP instance \"{}\" is already defined (vrrp_instances[{first}])",
                    inst.name
                ),
            );
        }
        check_instance(cfg, inst, &path, errs);
        let v6 = inst
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.addr.is_ipv6());
        if let Some(first) = vrids.insert((inst.interface.as_str(), v6, inst.virtual_router_id), i)
        {
            errs.push(
                format!("{path}.virtual_router_id"),
                format!(
                    "virtual_router_id {} is already used on {} by \"{}\"",
                    inst.virtual_router_id,
                    inst.interface,
                    cfg.vrrp_instances
                        .get(first)
                        .map(|x| x.name.as_str())
                        .unwrap_or_default()
                ),
            );
        }
    }

    let mut member_of: HashMap<&str, &str> = HashMap::new();
    let mut group_names = HashSet::new();
    for (g, group) in cfg.vrrp_sync_groups.iter().enumerate() {
        let path = format!("vrrp_sync_groups[{g}]");
        if !group_names.insert(group.name.as_str()) {
            errs.push(
                format!("{path}.name"),
                format!("sync group \"{}\" is defined twice", group.name),
            );
        }
        if group.group.is_empty() {
            errs.push(
                format!("{path}.group"),
                "a sync group needs member instances",
            );
        }
        for (m, member) in group.group.iter().enumerate() {
            let mpath = format!("{path}.group[{m}]");
            if !names.contains_key(member.as_str()) {
                let hint = suggest(member, names.keys().copied())
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                errs.push(
                    mpath,
                    format!("sync group member \"{member}\" is not a vrrp_instance{hint}"),
                );
            } else if let Some(other) = member_of.insert(member.as_str(), group.name.as_str()) {
                errs.push(
                    mpath,
                    format!(
                        "VRRP instance \"{member}\" is already a member of sync group \"{other}\""
                    ),
                );
            }
        }
        check_track_scripts(cfg, &group.track_script, &path, errs);
        check_track_weights(
            &group.track_interface,
            &format!("{path}.track_interface"),
            errs,
        );
    }
}

/// The VRRP version an instance runs: IPv6 forces v3, else the instance's, the global, or 2.
pub(crate) fn effective_version(cfg: &Config, inst: &VrrpInstance) -> u8 {
    let v6 = inst
        .virtual_ipaddress
        .first()
        .is_some_and(|a| a.address.addr.is_ipv6());
    if v6 && inst.version.is_none() {
        return 3;
    }
    inst.version.or(cfg.global.vrrp_version).unwrap_or(2)
}

fn check_instance(cfg: &Config, inst: &VrrpInstance, path: &str, errs: &mut Problems) {
    if inst.interface.trim().is_empty() {
        errs.push(
            format!("{path}.interface"),
            "a VRRP instance needs an interface",
        );
    }
    if inst.virtual_router_id == 0 {
        errs.push(
            format!("{path}.virtual_router_id"),
            "virtual_router_id 0 is out of range 1..=255",
        );
    }
    if inst.priority == 0 {
        errs.push(
            format!("{path}.priority"),
            "priority 0 is reserved (a master giving up); use 1..=255",
        );
    }
    if inst.priority == 255 && !cfg.ports.is_empty() {
        let own: HashSet<IpAddr> = cfg
            .ports
            .iter()
            .flat_map(|p| p.addresses.iter().map(|a| a.addr))
            .collect();
        if let Some(vip) = inst
            .virtual_ipaddress
            .iter()
            .find(|v| !own.contains(&v.address.addr))
        {
            errs.push(
                format!("{path}.priority"),
                format!(
                    "priority 255 is for the address owner only, but {} is not an address of any port",
                    vip.address.addr
                ),
            );
        }
    }
    let version = effective_version(cfg, inst);
    if let Some(v) = inst.version
        && !(2..=3).contains(&v)
    {
        errs.push(
            format!("{path}.version"),
            format!("VRRP version {v} is not 2 or 3"),
        );
    }
    let v6 = inst
        .virtual_ipaddress
        .first()
        .is_some_and(|a| a.address.addr.is_ipv6());
    if v6 && version == 2 {
        errs.push(
            format!("{path}.version"),
            "VRRPv2 carries IPv4 addresses only; IPv6 virtual addresses need version 3",
        );
    }
    let advert = inst.advert_int;
    match version {
        2 if !(seconds_in(advert, 1.0, 255.0) && advert.fract() == 0.0) => errs.push(
            format!("{path}.advert_int"),
            format!("advert_int {advert} must be whole seconds 1..=255 for VRRPv2"),
        ),
        3 if !seconds_in(advert, 0.01, 40.95) => errs.push(
            format!("{path}.advert_int"),
            format!("advert_int {advert} must be 0.01..=40.95 seconds for VRRPv3"),
        ),
        _ => {}
    }
    match &inst.authentication {
        None => {}
        Some(_) if version != 2 => errs.push(
            format!("{path}.authentication"),
            "authentication exists in VRRPv2 only (RFC 5798 removed it from v3)",
        ),
        Some(VrrpAuth::Ah { .. }) => errs.push(
            format!("{path}.authentication"),
            "auth_type AH (IPsec) is not supported by rvs; use PASS, or no authentication",
        ),
        Some(VrrpAuth::Pass { password }) if password.is_empty() => errs.push(
            format!("{path}.authentication"),
            "auth_type PASS needs a password (auth_pass)",
        ),
        Some(VrrpAuth::Pass { .. }) => {}
    }
    for (list, addrs) in [
        ("virtual_ipaddress", &inst.virtual_ipaddress),
        (
            "virtual_ipaddress_excluded",
            &inst.virtual_ipaddress_excluded,
        ),
    ] {
        let mut seen = HashSet::new();
        for (k, a) in addrs.iter().enumerate() {
            if !seen.insert(a.address.addr) {
                errs.push(
                    format!("{path}.{list}[{k}]"),
                    format!("address {} is listed twice", a.address.addr),
                );
            }
        }
    }
    if let Some(first) = inst.virtual_ipaddress.first() {
        let fam = first.address.addr.is_ipv4();
        for (k, a) in inst.virtual_ipaddress.iter().enumerate() {
            if a.address.addr.is_ipv4() != fam {
                errs.push(
                    format!("{path}.virtual_ipaddress[{k}]"),
                    format!(
                        "{} is not of the family of {}: one instance advertises one family (use virtual_ipaddress_excluded for the other)",
                        a.address.addr, first.address.addr
                    ),
                );
            }
        }
        if let Some(src) = inst.unicast_src_ip
            && src.is_ipv4() != fam
        {
            errs.push(
                format!("{path}.unicast_src_ip"),
                format!("source address {src} is not of the family of the virtual addresses"),
            );
        }
        for (k, peer) in inst.unicast_peer.iter().enumerate() {
            if peer.is_ipv4() != fam {
                errs.push(
                    format!("{path}.unicast_peer[{k}]"),
                    format!("unicast peer {peer} is not of the family of the virtual addresses"),
                );
            }
        }
    }
    if !seconds_in(inst.preempt_delay, 0.0, 1000.0) {
        errs.push(
            format!("{path}.preempt_delay"),
            format!(
                "preempt_delay {} is out of range 0..=1000 seconds",
                inst.preempt_delay
            ),
        );
    }
    check_track_scripts(cfg, &inst.track_script, path, errs);
    check_track_weights(
        &inst.track_interface,
        &format!("{path}.track_interface"),
        errs,
    );
}

fn check_track_scripts(cfg: &Config, tracked: &[Tracked], path: &str, errs: &mut Problems) {
    for (k, t) in tracked.iter().enumerate() {
        let tpath = format!("{path}.track_script[{k}]");
        if !cfg.vrrp_scripts.contains_key(&t.name) {
            let hint = suggest(&t.name, cfg.vrrp_scripts.keys().map(String::as_str))
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            errs.push(
                tpath.clone(),
                format!(
                    "track_script \"{}\" is not a defined vrrp_script{hint}",
                    t.name
                ),
            );
        }
        check_weight(t, &tpath, errs);
    }
}

fn check_track_weights(tracked: &[Tracked], path: &str, errs: &mut Problems) {
    for (k, t) in tracked.iter().enumerate() {
        check_weight(t, &format!("{path}[{k}]"), errs);
    }
}

fn check_weight(t: &Tracked, path: &str, errs: &mut Problems) {
    if let Some(w) = t.weight
        && !(-253..=253).contains(&w)
    {
        errs.push(
            format!("{path}.weight"),
            format!("weight {w} is out of range -253..=253"),
        );
    }
}
