//! Every example in examples/ loads and validates, and each keepalived.conf example describes
//! the same services as its TOML twin.

use std::path::{Path, PathBuf};

use control::config::{
    Config, Forward, KeepalivedOptions, Loaded, load_file, load_keepalived_file,
};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn load(rel: &str) -> Loaded {
    let path = examples().join(rel);
    match load_file(&path) {
        Ok(l) => l,
        Err(e) => panic!("{} does not load:\n{e}", path.display()),
    }
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_loads() {
    let tomls = files(&examples(), "toml");
    let confs = files(&examples().join("keepalived"), "conf");
    assert!(tomls.len() >= 4, "dr, tun, nat, fullnat at least");
    assert!(
        confs.len() >= 6,
        "dr, nat, tun, fnat, checkers, vrrp at least"
    );
    for p in tomls.iter().chain(&confs) {
        let loaded = load_file(p).unwrap_or_else(|e| panic!("{} does not load:\n{e}", p.display()));
        // Examples show clean files: the only remarks allowed are keywords rvs accepts and
        // does not use (nat.conf keeps its mail settings on purpose) and the legacy spelling
        // checkers.conf shows.
        for w in &loaded.warnings {
            assert!(
                w.message.starts_with("accepted but not used by rvs")
                    || w.message.starts_with("nb_get_retry is deprecated"),
                "{}: unexpected warning {w}",
                p.display()
            );
        }
        assert!(
            !loaded.config.services.is_empty()
                || !loaded.config.vrrp_instances.is_empty()
                || !loaded.config.ports.is_empty(),
            "{} configures nothing",
            p.display()
        );
    }
}

/// What a service is, without the defaults that differ between the two file formats.
fn shape(cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = cfg
        .services
        .iter()
        .map(|s| {
            let mut reals: Vec<String> = s
                .real_servers
                .iter()
                .map(|r| {
                    let port = if r.port == 0 { s.port } else { r.port };
                    format!(
                        "{}:{} w{} {:?} {:?}/{} checks={}",
                        r.address,
                        port,
                        r.weight,
                        r.forward.unwrap_or(s.forward),
                        r.tunnel,
                        r.tunnel_port,
                        r.checks.len()
                    )
                })
                .collect();
            reals.sort();
            format!(
                "{} {}:{} {} {:?} {:?} p={:?}/{:?} laddr={:?} [{}]",
                s.protocol,
                s.address,
                s.port,
                s.scheduler,
                s.sched_flags,
                s.forward,
                s.persistence_timeout,
                s.persistence_netmask,
                s.local_address_group,
                reals.join("; ")
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn keepalived_examples_match_their_toml_twins() {
    for (toml, conf) in [
        ("dr.toml", "keepalived/dr.conf"),
        ("nat.toml", "keepalived/nat.conf"),
        ("tun.toml", "keepalived/tun.conf"),
        ("fullnat.toml", "keepalived/fnat.conf"),
    ] {
        let a = shape(&load(toml).config);
        let b = shape(&load(conf).config);
        assert_eq!(a, b, "{toml} and {conf} differ");
    }
}

#[test]
fn examples_say_what_they_are_about() {
    let dr = load("dr.toml").config;
    assert!(dr.services.iter().all(|s| s.forward == Forward::Dr));
    assert_eq!(dr.vrrp_instances[0].virtual_router_id, 51);
    let nat = load("keepalived/nat.conf").config;
    assert_eq!(
        nat.services.len(),
        3,
        "the group expands to two services, plus port 0"
    );
    assert_eq!(
        nat.vrrp_sync_groups[0].group,
        vec!["VI_OUTSIDE", "VI_INSIDE"]
    );
    assert_eq!(nat.timeouts.tcp_fin, 120);
    let fnat = load("keepalived/fnat.conf").config;
    assert!(fnat.services.iter().all(|s| s.forward == Forward::FullNat));
    assert_eq!(fnat.local_address_groups["laddr_g1"].addresses.len(), 2);
    let checkers = load("keepalived/checkers.conf").config;
    let kinds: usize = checkers
        .services
        .iter()
        .flat_map(|s| &s.real_servers)
        .map(|r| r.checks.len())
        .sum();
    assert_eq!(
        kinds,
        4 + 2 + 2,
        "TCP HTTP SSL MISC, DNS UDP, two SMTP hosts"
    );
    // vrrp.conf is written for two directors: the config id picks the priority.
    let path = examples().join("keepalived/vrrp.conf");
    for (id, prio) in [("lb1", 150), ("lb2", 100), ("other", 90)] {
        let opts = KeepalivedOptions {
            config_id: Some(id.to_string()),
        };
        let cfg = load_keepalived_file(&path, &opts).unwrap().config;
        assert_eq!(cfg.vrrp_instances[0].priority, prio, "config id {id}");
        assert_eq!(cfg.global.router_id.as_deref(), Some(id));
    }
}
