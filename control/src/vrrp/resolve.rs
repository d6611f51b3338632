//! From the configuration model to what the VRRP driver runs: engine [`InstanceConfig`]s
//! with keepalived 2.2's defaults applied, the tracked scripts and interfaces of each
//! instance, notify scripts, and sync groups as member indices.
//!
//! The rules are keepalived's `vrrp_complete_instance`, so a keepalived.conf means the
//! same thing to rvs: version from the instance, else `global_defs vrrp_version`, else 2;
//! a v2 interval is rounded to whole seconds and a v3 one to centiseconds; v3 ignores
//! authentication; the PASS password is cut to 8 bytes; `nopreempt` is cleared for an
//! owner (priority 255) and, with `preempt_delay`, for `state MASTER`; gratuitous ARP
//! settings come from the instance, else `global_defs vrrp_garp_*`, else 5/5 s/0/1.
//! Where keepalived would only warn and carry on, the resolver does the same and records a
//! warning; what the engine cannot do at all (AH authentication, IPv6 instances, VRID 0)
//! is a [`ResolveError`] naming the instance.
//!
//! The interface name in the model is an rvs port name in production (`dp0`), whose
//! kernel side is a TAP (`rvs0`); the daemon supplies that mapping, tests use the
//! identity. The primary address (the adverts' source) is `unicast_src_ip`, else the
//! kernel interface's first IPv4 address.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::instance::{InstanceConfig, PRIO_OWNER};
use super::packet::AUTH_LEN;
use crate::config::model::{
    Config, GlobalDefs, VrrpAuth, VrrpInstance, VrrpScript, VrrpState, VrrpSyncGroup,
};

/// What the resolver needs to know about the host's interfaces.
pub trait InterfaceEnv {
    /// The kernel interface that carries VRRP for `name` (an rvs port, or already a
    /// kernel interface).
    fn kernel_name(&self, name: &str) -> String;
    /// The first IPv4 address of a kernel interface.
    fn first_ipv4(&self, kernel_if: &str) -> Option<Ipv4Addr>;
}

/// The host's interfaces, read with getifaddrs, with a port-to-TAP mapping.
pub struct SystemEnv<F: Fn(&str) -> String> {
    pub map_name: F,
}

impl<F: Fn(&str) -> String> InterfaceEnv for SystemEnv<F> {
    fn kernel_name(&self, name: &str) -> String {
        (self.map_name)(name)
    }

    fn first_ipv4(&self, kernel_if: &str) -> Option<Ipv4Addr> {
        first_ipv4_of(kernel_if)
    }
}

/// The first IPv4 address of `interface` as getifaddrs lists it (the kernel's order: the
/// primary address first).
pub fn first_ipv4_of(interface: &str) -> Option<Ipv4Addr> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|a| a.interface_name == interface)
        .find_map(|a| {
            a.address
                .as_ref()
                .and_then(|s| s.as_sockaddr_in())
                .map(|s| s.ip())
        })
}

/// Why a VRRP configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("vrrp_instance {instance}: {reason}")]
    Instance { instance: String, reason: String },
    #[error("vrrp_script {script}: {reason}")]
    Script { script: String, reason: String },
}

fn inst_err(instance: &str, reason: impl Into<String>) -> ResolveError {
    ResolveError::Instance {
        instance: instance.to_string(),
        reason: reason.into(),
    }
}

/// One tracked vrrp_script of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptTrack {
    /// Index into [`Resolved::scripts`].
    pub script: usize,
    pub weight: i32,
    pub reverse: bool,
}

/// One tracked interface of an instance (kernel name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceTrack {
    pub interface: String,
    pub weight: i32,
}

/// Notify scripts of an instance or sync group (command lines run by `/bin/sh -c`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub stop: Option<String>,
    /// Called after the specific one with `INSTANCE|GROUP name STATE priority`.
    pub generic: Option<String>,
}

/// One instance, ready for the driver.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedInstance {
    pub engine: InstanceConfig,
    /// The name in the configuration (rvs port or interface).
    pub port: String,
    /// The kernel interface adverts are sent and received on.
    pub interface: String,
    /// Every address the instance owns while MASTER: `virtual_ipaddress` then
    /// `virtual_ipaddress_excluded` (the latter are not advertised).
    pub owned: Vec<IpAddr>,
    pub scripts: Vec<ScriptTrack>,
    /// Tracked interfaces; the instance's own interface is always first, weight 0
    /// (keepalived tracks it unless `dont_track_primary`, which rvs does not offer).
    pub interfaces: Vec<InterfaceTrack>,
    pub notify: Notify,
}

/// A vrrp_script used by at least one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedScript {
    pub name: String,
    pub command: String,
    pub interval: Duration,
    /// keepalived: a missing timeout means the interval.
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// A sync group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedGroup {
    pub name: String,
    pub members: Vec<usize>,
    pub notify: Notify,
}

/// Everything the driver runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolved {
    pub instances: Vec<ResolvedInstance>,
    pub scripts: Vec<ResolvedScript>,
    pub groups: Vec<ResolvedGroup>,
    /// What keepalived would have warned about and the resolver corrected or ignored.
    pub warnings: Vec<String>,
}

/// keepalived's weight range for tracked scripts and interfaces.
const WEIGHT_RANGE: std::ops::RangeInclusive<i32> = -253..=253;
/// keepalived's upper bound for preempt_delay, seconds.
const PREEMPT_DELAY_MAX: f64 = 1000.0;
/// keepalived's defaults for gratuitous ARP.
const GARP_REPEAT: u32 = 5;
const GARP_DELAY_S: u32 = 5;

/// Resolves the VRRP part of `config`.
pub fn resolve(config: &Config, env: &dyn InterfaceEnv) -> Result<Resolved, ResolveError> {
    let mut out = Resolved::default();
    let mut script_index: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for model in &config.vrrp_instances {
        if names.contains_key(model.name.as_str()) {
            return Err(inst_err(&model.name, "defined twice"));
        }
        let mut inst = resolve_instance(model, &config.global, env, &mut out.warnings)?;
        inst.scripts = track_scripts(
            &model.name,
            &model.track_script,
            &config.vrrp_scripts,
            &mut script_index,
            &mut out.scripts,
            &mut out.warnings,
        )?;
        names.insert(&model.name, out.instances.len());
        out.instances.push(inst);
    }
    for group in &config.vrrp_sync_groups {
        let g = resolve_group(group, &names, &mut out)?;
        // The group's tracking applies to every member, as in keepalived.
        for &m in &g.members {
            let member = out.instances[m].engine.name.clone();
            let scripts = track_scripts(
                &member,
                &group.track_script,
                &config.vrrp_scripts,
                &mut script_index,
                &mut out.scripts,
                &mut out.warnings,
            )?;
            let interfaces = track_interfaces(&member, &group.track_interface, env)?;
            let inst = &mut out.instances[m];
            inst.scripts.extend(scripts);
            inst.interfaces.extend(interfaces);
        }
        out.groups.push(g);
    }
    Ok(out)
}

fn resolve_instance(
    m: &VrrpInstance,
    global: &GlobalDefs,
    env: &dyn InterfaceEnv,
    warnings: &mut Vec<String>,
) -> Result<ResolvedInstance, ResolveError> {
    let name = m.name.as_str();
    let version = m.version.or(global.vrrp_version).unwrap_or(2);
    if version != 2 && version != 3 {
        return Err(inst_err(
            name,
            format!("version {version} is neither 2 nor 3"),
        ));
    }
    if m.virtual_router_id == 0 {
        return Err(inst_err(name, "virtual_router_id must be 1..255"));
    }
    if m.priority == 0 {
        return Err(inst_err(name, "priority must be 1..255"));
    }
    let adver_int_us = advert_interval_us(name, version, m.advert_int, warnings)?;
    let password = match (&m.authentication, version) {
        (None, _) => None,
        (Some(VrrpAuth::Ah { .. }), 2) => {
            return Err(inst_err(
                name,
                "auth_type AH (IPsec) is not implemented by rvs; use PASS or none",
            ));
        }
        (Some(_), 3) => {
            warnings.push(format!(
                "({name}) VRRP version 3 does not support authentication. Ignoring."
            ));
            None
        }
        (Some(VrrpAuth::Pass { password }), _) if password.is_empty() => {
            warnings.push(format!(
                "({name}) Authentication specified but no password given. Ignoring"
            ));
            None
        }
        (Some(VrrpAuth::Pass { password }) | Some(VrrpAuth::Ah { password }), _) => {
            let bytes = password.as_bytes();
            Some(bytes[..bytes.len().min(AUTH_LEN)].to_vec())
        }
    };
    let mut vips = Vec::new();
    for v in &m.virtual_ipaddress {
        match v.address.addr {
            IpAddr::V4(a) => vips.push(a),
            IpAddr::V6(a) => {
                return Err(inst_err(
                    name,
                    format!(
                        "virtual_ipaddress {a} is IPv6; rvs runs VRRP over IPv4 only \
                         (list IPv6 addresses under virtual_ipaddress_excluded)"
                    ),
                ));
            }
        }
    }
    let mut owned: Vec<IpAddr> = m.virtual_ipaddress.iter().map(|v| v.address.addr).collect();
    owned.extend(m.virtual_ipaddress_excluded.iter().map(|v| v.address.addr));
    if vips.len() > 255 {
        warnings.push(format!(
            "({name}) Number of VIPs ({}) exceeds maximum/space available in packet (max 255 \
             addresses) - excess moved to eVIPs",
            vips.len()
        ));
        vips.truncate(255);
    }
    let interface = env.kernel_name(&m.interface);
    let unicast_src = match m.unicast_src_ip {
        None => None,
        Some(IpAddr::V4(a)) => Some(a),
        Some(IpAddr::V6(a)) => {
            return Err(inst_err(name, format!("unicast_src_ip {a} is not IPv4")));
        }
    };
    let primary = match unicast_src.or_else(|| env.first_ipv4(&interface)) {
        Some(a) => a,
        None => {
            return Err(inst_err(
                name,
                format!("interface {interface} has no IPv4 address and no unicast_src_ip is set"),
            ));
        }
    };
    let mut unicast_peers = Vec::new();
    for p in &m.unicast_peer {
        match p {
            IpAddr::V4(a) => unicast_peers.push(*a),
            IpAddr::V6(a) => {
                return Err(inst_err(name, format!("unicast_peer {a} is not IPv4")));
            }
        }
    }
    let mut nopreempt = m.nopreempt;
    if !(0.0..=PREEMPT_DELAY_MAX).contains(&m.preempt_delay) {
        return Err(inst_err(
            name,
            format!("preempt_delay {} is outside 0..1000 s", m.preempt_delay),
        ));
    }
    let mut preempt_delay = m.preempt_delay;
    if m.priority == PRIO_OWNER && nopreempt {
        warnings.push(format!(
            "({name}) nopreempt is incompatible with priority 255 - resetting nopreempt"
        ));
        nopreempt = false;
    }
    let initial_master = m.state == VrrpState::Master;
    if initial_master {
        if nopreempt {
            warnings.push(format!(
                "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
            ));
            nopreempt = false;
        }
        if preempt_delay > 0.0 {
            warnings.push(format!(
                "({name}) Warning - preempt delay will not work with initial state MASTER - clearing"
            ));
            preempt_delay = 0.0;
        }
    }
    if preempt_delay > 0.0 && nopreempt {
        warnings.push(format!(
            "({name}) preempt_delay is incompatible with nopreempt mode - resetting"
        ));
        preempt_delay = 0.0;
    }
    let garp_delay_s = m
        .garp_master_delay
        .or(global.vrrp_garp_master_delay)
        .unwrap_or(GARP_DELAY_S);
    let garp_refresh_s = m
        .garp_master_refresh
        .or(global.vrrp_garp_master_refresh)
        .unwrap_or(0);
    let engine = InstanceConfig {
        name: m.name.clone(),
        vrid: m.virtual_router_id,
        version,
        priority: m.priority,
        adver_int_us,
        initial_master,
        nopreempt,
        preempt_delay_us: secs_to_us(preempt_delay),
        password,
        vips,
        primary,
        unicast_peers,
        garp_repeat: m
            .garp_master_repeat
            .or(global.vrrp_garp_master_repeat)
            .unwrap_or(GARP_REPEAT),
        garp_delay_us: u64::from(garp_delay_s) * 1_000_000,
        garp_refresh_us: u64::from(garp_refresh_s) * 1_000_000,
        garp_refresh_repeat: m.garp_master_refresh_repeat.unwrap_or(1).max(1),
    };
    let mut interfaces = vec![InterfaceTrack {
        interface: interface.clone(),
        weight: 0,
    }];
    interfaces.extend(
        track_interfaces(name, &m.track_interface, env)?
            .into_iter()
            .filter(|t| !(t.interface == interface && t.weight == 0)),
    );
    Ok(ResolvedInstance {
        engine,
        port: m.interface.clone(),
        interface,
        owned,
        scripts: Vec::new(),
        interfaces,
        notify: Notify {
            master: m.notify_master.clone(),
            backup: m.notify_backup.clone(),
            fault: m.notify_fault.clone(),
            stop: m.notify_stop.clone(),
            generic: m.notify.clone(),
        },
    })
}

/// keepalived's interval rules: default 1 s; v2 rounded to whole seconds (1..=255), v3
/// to centiseconds (1..=4095).
fn advert_interval_us(
    name: &str,
    version: u8,
    seconds: f64,
    warnings: &mut Vec<String>,
) -> Result<u64, ResolveError> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(inst_err(
            name,
            format!("advert_int {seconds} is not a duration"),
        ));
    }
    let us = if seconds == 0.0 {
        1_000_000
    } else {
        secs_to_us(seconds)
    };
    let (unit, max_units) = if version == 2 {
        (1_000_000u64, 255u64)
    } else {
        (10_000u64, 4095u64)
    };
    let mut units = (us + unit / 2) / unit;
    if us % unit != 0 {
        warnings.push(format!(
            "({name}) VRRPv{version} advertisement interval {seconds}s rounded to {}s",
            units.max(1) as f64 * unit as f64 / 1e6
        ));
    }
    if units > max_units {
        warnings.push(format!(
            "({name}) VRRPv{version} advertisement interval {seconds}s is out of range - \
             set to the maximum"
        ));
        units = max_units;
    }
    Ok(units.max(1) * unit)
}

fn secs_to_us(seconds: f64) -> u64 {
    // Callers pass finite, non-negative values at most 1000 s or so.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let us = (seconds * 1e6).round() as u64;
    us
}

fn duration_of(seconds: f64) -> Duration {
    Duration::from_micros(secs_to_us(seconds))
}

fn track_interfaces(
    instance: &str,
    tracked: &[crate::config::model::Tracked],
    env: &dyn InterfaceEnv,
) -> Result<Vec<InterfaceTrack>, ResolveError> {
    tracked
        .iter()
        .map(|t| {
            let weight = t.weight.unwrap_or(0);
            if WEIGHT_RANGE.contains(&weight) {
                Ok(InterfaceTrack {
                    interface: env.kernel_name(&t.name),
                    weight,
                })
            } else {
                Err(inst_err(
                    instance,
                    format!(
                        "track_interface {} weight {weight} is outside -253..253",
                        t.name
                    ),
                ))
            }
        })
        .collect()
}

fn track_scripts(
    instance: &str,
    tracked: &[crate::config::model::Tracked],
    defs: &BTreeMap<String, VrrpScript>,
    index: &mut HashMap<String, usize>,
    scripts: &mut Vec<ResolvedScript>,
    warnings: &mut Vec<String>,
) -> Result<Vec<ScriptTrack>, ResolveError> {
    let mut out = Vec::new();
    for t in tracked {
        let Some(def) = defs.get(&t.name) else {
            warnings.push(format!(
                "({instance}) track script {} not found, ignoring...",
                t.name
            ));
            continue;
        };
        let idx = match index.get(&t.name) {
            Some(i) => *i,
            None => {
                let r = resolve_script(&t.name, def)?;
                scripts.push(r);
                index.insert(t.name.clone(), scripts.len() - 1);
                scripts.len() - 1
            }
        };
        let weight = t.weight.unwrap_or(def.weight);
        if !WEIGHT_RANGE.contains(&weight) {
            return Err(inst_err(
                instance,
                format!(
                    "track_script {} weight {weight} is outside -253..253",
                    t.name
                ),
            ));
        }
        out.push(ScriptTrack {
            script: idx,
            weight,
            reverse: def.weight_reverse,
        });
    }
    Ok(out)
}

fn resolve_script(name: &str, def: &VrrpScript) -> Result<ResolvedScript, ResolveError> {
    let err = |reason: String| ResolveError::Script {
        script: name.to_string(),
        reason,
    };
    if def.script.trim().is_empty() {
        return Err(err("no script given".into()));
    }
    if !def.interval.is_finite() || def.interval <= 0.0 || def.interval > 86_400.0 {
        return Err(err(format!("interval {} is not a duration", def.interval)));
    }
    let timeout = match def.timeout {
        None => def.interval,
        Some(t) if t.is_finite() && t > 0.0 && t <= 86_400.0 => t,
        Some(t) => return Err(err(format!("timeout {t} is not a duration"))),
    };
    if !WEIGHT_RANGE.contains(&def.weight) {
        return Err(err(format!("weight {} is outside -253..253", def.weight)));
    }
    Ok(ResolvedScript {
        name: name.to_string(),
        command: def.script.clone(),
        interval: duration_of(def.interval),
        timeout: duration_of(timeout),
        rise: def.rise.max(1),
        fall: def.fall.max(1),
        init_fail: def.init_fail,
    })
}

fn resolve_group(
    g: &VrrpSyncGroup,
    names: &HashMap<&str, usize>,
    out: &mut Resolved,
) -> Result<ResolvedGroup, ResolveError> {
    let mut members = Vec::new();
    for m in &g.group {
        match names.get(m.as_str()) {
            Some(&i) if out.groups.iter().any(|o| o.members.contains(&i)) => {
                out.warnings.push(format!(
                    "vrrp_sync_group {}: instance {m} is already in another sync group, ignoring",
                    g.name
                ));
            }
            Some(&i) => {
                if !members.contains(&i) {
                    members.push(i);
                }
            }
            None => out.warnings.push(format!(
                "vrrp_sync_group {}: virtual router {m} specified but not configured, ignoring",
                g.name
            )),
        }
    }
    if members.len() == 1 {
        out.warnings.push(format!(
            "vrrp_sync_group {} has only 1 virtual router(s) - this probably isn't what you want",
            g.name
        ));
    }
    Ok(ResolvedGroup {
        name: g.name.clone(),
        members,
        notify: Notify {
            master: g.notify_master.clone(),
            backup: g.notify_backup.clone(),
            fault: g.notify_fault.clone(),
            stop: None,
            generic: g.notify.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeEnv;

    impl InterfaceEnv for FakeEnv {
        fn kernel_name(&self, name: &str) -> String {
            match name {
                "dp0" => "rvs0".to_string(),
                other => other.to_string(),
            }
        }
        fn first_ipv4(&self, kernel_if: &str) -> Option<Ipv4Addr> {
            (kernel_if == "rvs0").then_some(Ipv4Addr::new(10, 0, 0, 2))
        }
    }

    fn parse(toml_text: &str) -> Config {
        toml::from_str(toml_text).unwrap()
    }

    const BASE: &str = r#"
[[vrrp_instances]]
name = "VI_1"
interface = "dp0"
virtual_router_id = 51
virtual_ipaddress = [{ address = "10.0.0.100/32" }]
"#;

    #[test]
    fn defaults_are_keepalived_s() {
        let r = resolve(&parse(BASE), &FakeEnv).unwrap();
        let i = &r.instances[0];
        assert_eq!(i.interface, "rvs0");
        assert_eq!(i.port, "dp0");
        let e = &i.engine;
        assert_eq!(
            (e.version, e.priority, e.adver_int_us, e.primary),
            (2, 100, 1_000_000, Ipv4Addr::new(10, 0, 0, 2))
        );
        assert_eq!(
            (
                e.garp_repeat,
                e.garp_delay_us,
                e.garp_refresh_us,
                e.garp_refresh_repeat
            ),
            (5, 5_000_000, 0, 1)
        );
        assert!(!e.nopreempt && !e.initial_master && e.password.is_none());
        assert_eq!(e.preempt_delay_us, 0);
        // The own interface is tracked with weight 0 (down = FAULT).
        assert_eq!(
            i.interfaces,
            vec![InterfaceTrack {
                interface: "rvs0".into(),
                weight: 0
            }]
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn globals_then_instance_settings_override_defaults() {
        let text = format!(
            "[global]\nvrrp_version = 3\nvrrp_garp_master_delay = 2\nvrrp_garp_master_repeat = 3\n\
             vrrp_garp_master_refresh = 60\n{BASE}garp_master_repeat = 1\n\
             unicast_src_ip = \"10.0.0.9\"\nunicast_peer = [\"10.0.0.3\"]\nadvert_int = 0.333\n"
        );
        let r = resolve(&parse(&text), &FakeEnv).unwrap();
        let e = &r.instances[0].engine;
        assert_eq!(e.version, 3);
        assert_eq!((e.garp_repeat, e.garp_delay_us), (1, 2_000_000));
        assert_eq!(e.garp_refresh_us, 60_000_000);
        assert_eq!(e.primary, Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(e.unicast_peers, vec![Ipv4Addr::new(10, 0, 0, 3)]);
        // v3 rounds to centiseconds.
        assert_eq!(e.adver_int_us, 330_000);
    }

    #[test]
    fn v2_interval_rounds_to_seconds_and_password_is_cut() {
        let text = format!(
            "{BASE}advert_int = 1.6\nauthentication = {{ type = \"PASS\", password = \"0123456789\" }}\n"
        );
        let r = resolve(&parse(&text), &FakeEnv).unwrap();
        let e = &r.instances[0].engine;
        assert_eq!(e.adver_int_us, 2_000_000);
        assert_eq!(e.password.as_deref(), Some(&b"01234567"[..]));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    }

    #[test]
    fn v3_ignores_authentication_and_ah_is_refused() {
        let text = format!(
            "{BASE}version = 3\nauthentication = {{ type = \"PASS\", password = \"x\" }}\n"
        );
        let r = resolve(&parse(&text), &FakeEnv).unwrap();
        assert!(r.instances[0].engine.password.is_none());
        assert!(r.warnings[0].contains("does not support authentication"));
        let text = format!("{BASE}authentication = {{ type = \"AH\", password = \"x\" }}\n");
        let err = resolve(&parse(&text), &FakeEnv).unwrap_err();
        assert!(err.to_string().contains("AH"), "{err}");
        assert!(err.to_string().contains("VI_1"), "{err}");
    }

    #[test]
    fn keepalived_s_preemption_corrections() {
        let text = format!("{BASE}state = \"MASTER\"\nnopreempt = true\npreempt_delay = 5.0\n");
        let r = resolve(&parse(&text), &FakeEnv).unwrap();
        let e = &r.instances[0].engine;
        assert!(e.initial_master && !e.nopreempt);
        assert_eq!(e.preempt_delay_us, 0);
        let text = format!("{BASE}nopreempt = true\npreempt_delay = 5.0\n");
        let e = resolve(&parse(&text), &FakeEnv).unwrap().instances[0]
            .engine
            .clone();
        assert!(e.nopreempt);
        assert_eq!(e.preempt_delay_us, 0);
        let text = format!("{BASE}priority = 255\nnopreempt = true\n");
        let e = resolve(&parse(&text), &FakeEnv).unwrap().instances[0]
            .engine
            .clone();
        assert!(!e.nopreempt);
        let text = format!("{BASE}preempt_delay = 1001.0\n");
        assert!(resolve(&parse(&text), &FakeEnv).is_err());
    }

    #[test]
    fn tracking_scripts_interfaces_and_groups() {
        let text = format!(
            "{BASE}track_script = [{{ name = \"chk\" }}, {{ name = \"chk2\", weight = 10 }}, {{ name = \"nope\" }}]\n\
             track_interface = [{{ name = \"eth9\", weight = -20 }}]\n\
             [[vrrp_instances]]\nname = \"VI_2\"\ninterface = \"dp0\"\nvirtual_router_id = 52\n\
             virtual_ipaddress = [{{ address = \"10.0.1.100/32\" }}]\n\
             [vrrp_scripts.chk]\nscript = \"true\"\nweight = -30\nrise = 2\nfall = 3\n\
             [vrrp_scripts.chk2]\nscript = \"false\"\ninterval = 2.0\ntimeout = 0.5\nweight = -5\nweight_reverse = true\n\
             [[vrrp_sync_groups]]\nname = \"G\"\ngroup = [\"VI_1\", \"VI_2\", \"VI_9\"]\n\
             track_script = [{{ name = \"chk\" }}]\nnotify_master = \"/bin/true\"\n"
        );
        let r = resolve(&parse(&text), &FakeEnv).unwrap();
        assert_eq!(r.scripts.len(), 2);
        let chk = &r.scripts[0];
        assert_eq!(
            (
                chk.name.as_str(),
                chk.interval,
                chk.timeout,
                chk.rise,
                chk.fall
            ),
            ("chk", Duration::from_secs(1), Duration::from_secs(1), 2, 3)
        );
        assert_eq!(r.scripts[1].timeout, Duration::from_millis(500));
        let i1 = &r.instances[0];
        assert_eq!(
            i1.scripts,
            vec![
                ScriptTrack {
                    script: 0,
                    weight: -30,
                    reverse: false
                },
                ScriptTrack {
                    script: 1,
                    weight: 10,
                    reverse: true
                },
                ScriptTrack {
                    script: 0,
                    weight: -30,
                    reverse: false
                },
            ]
        );
        assert_eq!(
            i1.interfaces[1],
            InterfaceTrack {
                interface: "eth9".into(),
                weight: -20
            }
        );
        assert_eq!(
            r.instances[1].scripts,
            vec![ScriptTrack {
                script: 0,
                weight: -30,
                reverse: false
            }]
        );
        assert_eq!(r.groups[0].members, vec![0, 1]);
        assert_eq!(r.groups[0].notify.master.as_deref(), Some("/bin/true"));
        assert!(r.warnings.iter().any(|w| w.contains("nope")));
        assert!(r.warnings.iter().any(|w| w.contains("VI_9")));
    }

    #[test]
    fn what_the_engine_cannot_do_is_an_error_naming_the_instance() {
        for extra in [
            "virtual_router_id = 0\n",
            "priority = 0\n",
            "version = 4\n",
            "unicast_peer = [\"2001:db8::1\"]\n",
            "track_interface = [{ name = \"eth1\", weight = 254 }]\n",
        ] {
            let text = BASE.replace("virtual_router_id = 51\n", "") + extra;
            let text = if extra.starts_with("virtual_router_id") {
                text
            } else {
                text + "virtual_router_id = 51\n"
            };
            let err = resolve(&parse(&text), &FakeEnv).unwrap_err();
            assert!(
                err.to_string().starts_with("vrrp_instance VI_1"),
                "{extra}: {err}"
            );
        }
        let v6 = BASE.replace("10.0.0.100/32", "2001:db8::100/128");
        assert!(resolve(&parse(&v6), &FakeEnv).is_err());
        let no_addr = BASE.replace("\"dp0\"", "\"eth5\"");
        let err = resolve(&parse(&no_addr), &FakeEnv).unwrap_err();
        assert!(err.to_string().contains("no IPv4 address"), "{err}");
    }
}
