//! `daemon.keepalived_conf`: a TOML file that takes its services and VRRP from a
//! keepalived.conf.
//!
//! An operator migrating from keepalived has a keepalived.conf that already says everything
//! about virtual servers, real servers, health checks and VRRP, and nothing about DPDK. Rather
//! than translating it, the TOML file names it: the TOML file gives the daemon, DPDK, ports,
//! routes, neighbours and connection-table settings; the keepalived.conf gives the virtual
//! services, local address groups, vrrp_script/vrrp_instance/vrrp_sync_group, global_defs and
//! (when it sets them) lvs_timeouts. Each section has exactly one source: a TOML file that
//! names a keepalived.conf and also defines one of that file's sections is refused, so nobody
//! has to guess which one wins. The merged configuration is validated as a whole.

use std::path::{Path, PathBuf};

use super::{
    ConfigErrors, Format, KeepalivedOptions, Loaded, Timeouts, load_keepalived_file, validate,
};

/// Where `keepalived_conf` points: relative paths are relative to the TOML file's directory.
pub fn keepalived_path(toml_path: &Path, keepalived_conf: &str) -> PathBuf {
    let named = Path::new(keepalived_conf);
    if named.is_absolute() {
        return named.to_path_buf();
    }
    match toml_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(named),
        _ => named.to_path_buf(),
    }
}

/// Completes a loaded TOML configuration with the keepalived.conf it names, if any.
pub fn with_keepalived(toml: Loaded, toml_path: &Path) -> Result<Loaded, ConfigErrors> {
    let Some(named) = toml.config.daemon.keepalived_conf.clone() else {
        return Ok(toml);
    };
    let toml_name = toml_path.display().to_string();
    let path = keepalived_path(toml_path, &named);
    let ka = load_keepalived_file(&path, &KeepalivedOptions::default()).map_err(|mut errs| {
        // The TOML file's warnings are worth seeing too.
        errs.warnings.splice(0..0, toml.warnings.iter().cloned());
        errs
    })?;
    let conflicts = conflicts(&toml, &path);
    if !conflicts.is_empty() {
        let mut errs = ConfigErrors::default();
        for c in conflicts {
            errs.errors
                .extend(ConfigErrors::single(&toml_name, c).errors);
        }
        errs.warnings = toml.warnings;
        return Err(errs);
    }
    let mut config = toml.config;
    let from = ka.config;
    config.services = from.services;
    config.local_address_groups = from.local_address_groups;
    config.global = from.global;
    config.vrrp_scripts = from.vrrp_scripts;
    config.vrrp_instances = from.vrrp_instances;
    config.vrrp_sync_groups = from.vrrp_sync_groups;
    if from.timeouts != Timeouts::default() {
        config.timeouts = from.timeouts;
    }
    let mut warnings = toml.warnings;
    warnings.extend(ka.warnings);
    if let Err(problems) = validate(&config) {
        let mut errs = ConfigErrors::default();
        for p in problems {
            errs.errors.extend(
                ConfigErrors::single(
                    &toml_name,
                    format!("with {}: {}: {}", path.display(), p.path, p.message),
                )
                .errors,
            );
        }
        errs.warnings = warnings;
        return Err(errs);
    }
    let mut sources = toml.sources;
    sources.extend(ka.sources);
    Ok(Loaded {
        config,
        warnings,
        sources,
        format: Format::Toml,
    })
}

/// The sections both files would define.
fn conflicts(toml: &Loaded, ka_path: &Path) -> Vec<String> {
    let c = &toml.config;
    let mut out = Vec::new();
    let mut refuse = |defined: bool, section: &str| {
        if defined {
            out.push(format!(
                "{section} is defined here and daemon.keepalived_conf names {}, which \
                 provides it; define it in one place",
                ka_path.display()
            ));
        }
    };
    refuse(!c.services.is_empty(), "[[services]]");
    refuse(!c.local_address_groups.is_empty(), "[local_address_groups]");
    refuse(c.global != Default::default(), "[global]");
    refuse(!c.vrrp_scripts.is_empty(), "[vrrp_scripts]");
    refuse(!c.vrrp_instances.is_empty(), "[[vrrp_instances]]");
    refuse(!c.vrrp_sync_groups.is_empty(), "[[vrrp_sync_groups]]");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Forward, load_file};

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("rvs-merge-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const KEEPALIVED: &str = "global_defs {\n    router_id LB1\n    lvs_timeouts tcp 600 tcpfin 30 udp 60\n}\n\
        virtual_server 10.0.0.100 80 {\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n\
        \x20   real_server 10.0.0.11 80 {\n        weight 3\n    }\n}\n";

    const RUNTIME: &str = "[daemon]\nkeepalived_conf = \"keepalived.conf\"\n\
        [dpdk]\nworkers = [1]\n[[ports]]\nname = \"dp0\"\ndevice = \"net_null0\"\naddresses = [\"10.0.0.2/24\"]\n";

    #[test]
    fn services_and_timeouts_come_from_keepalived_the_runtime_from_toml() {
        let dir = Dir::new("ok");
        dir.write("keepalived.conf", KEEPALIVED);
        let toml = dir.write("rvs.toml", RUNTIME);
        let loaded = load_file(&toml).unwrap();
        let cfg = &loaded.config;
        assert_eq!(loaded.format, Format::Toml);
        assert_eq!(
            loaded.sources,
            [toml.clone(), dir.0.join("keepalived.conf")]
        );
        assert_eq!(cfg.ports[0].name, "dp0");
        assert_eq!(cfg.dpdk.workers, [1]);
        assert_eq!(cfg.services.len(), 1);
        assert_eq!(cfg.services[0].scheduler, "wrr");
        assert_eq!(cfg.services[0].forward, Forward::Dr);
        assert_eq!(cfg.services[0].real_servers[0].weight, 3);
        assert_eq!(cfg.global.router_id.as_deref(), Some("LB1"));
        assert_eq!(
            (cfg.timeouts.tcp, cfg.timeouts.tcp_fin, cfg.timeouts.udp),
            (600, 30, 60)
        );
    }

    #[test]
    fn a_section_in_both_files_is_refused_and_bad_keepalived_lines_are_located() {
        let dir = Dir::new("conflict");
        dir.write("keepalived.conf", KEEPALIVED);
        let toml = dir.write(
            "rvs.toml",
            &format!(
                "{RUNTIME}[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.101\"\nport = 80\n"
            ),
        );
        let errs = load_file(&toml).unwrap_err();
        assert_eq!(errs.errors.len(), 1, "{errs}");
        assert!(
            errs.errors[0]
                .message
                .contains("[[services]] is defined here"),
            "{errs}"
        );

        dir.write(
            "keepalived.conf",
            "virtual_server 10.0.0.100 80 {\n    protocol TCP\n    lb_kind BOGUS\n\
             \x20   real_server 10.0.0.11 80 {\n    }\n}\n",
        );
        let toml = dir.write("rvs.toml", RUNTIME);
        let errs = load_file(&toml).unwrap_err();
        let e = &errs.errors[0];
        assert!(e.file.ends_with("keepalived.conf"), "{errs}");
        assert_eq!(e.line, 3, "{errs}");

        let missing = dir.write(
            "rvs.toml",
            &RUNTIME.replace("keepalived.conf", "/nonexistent/keepalived.conf"),
        );
        let errs = load_file(&missing).unwrap_err();
        assert!(
            errs.to_string().contains("/nonexistent/keepalived.conf"),
            "{errs}"
        );
    }

    #[test]
    fn the_merged_configuration_is_validated_as_a_whole() {
        let dir = Dir::new("whole");
        // The pool names port dpdk0, which the keepalived file alone cannot check.
        dir.write(
            "keepalived.conf",
            "local_address_group g {\n    10.0.0.50 dpdk0\n}\n",
        );
        let toml = dir.write("rvs.toml", RUNTIME);
        let errs = load_file(&toml).unwrap_err();
        assert!(
            errs.errors[0]
                .message
                .contains("port \"dpdk0\" does not exist"),
            "{errs}"
        );
        assert!(errs.errors[0].file.ends_with("rvs.toml"), "{errs}");
    }

    #[test]
    fn relative_paths_follow_the_toml_file() {
        assert_eq!(
            keepalived_path(Path::new("/etc/rvs/rvs.toml"), "ka.conf"),
            PathBuf::from("/etc/rvs/ka.conf")
        );
        assert_eq!(
            keepalived_path(Path::new("rvs.toml"), "ka.conf"),
            PathBuf::from("ka.conf")
        );
        assert_eq!(
            keepalived_path(Path::new("/etc/rvs/rvs.toml"), "/etc/keepalived/k.conf"),
            PathBuf::from("/etc/keepalived/k.conf")
        );
    }
}
