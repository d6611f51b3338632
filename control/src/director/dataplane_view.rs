//! What the dataplane is handed: the effective configuration without the scheduler flags
//! no scheduler reads.
//!
//! The configuration keeps every flag an operator set, as IPVS keeps all three flag bits
//! of a service whatever its scheduler, so that listings show them as ipvsadm does
//! (`wlc (flag-1)`). The dataplane's schedulers know only the flags they act on
//! (`sh-fallback` ...), so the [`Applier`](super::Applier) gets each service's flags
//! reduced to those, by their specific names ([`sched_flags::acting`]). Nothing else
//! differs from the effective configuration, and a configuration without inert flags is
//! handed over as it is, without a copy.

use std::borrow::Cow;

use crate::config::{Config, sched_flags};

/// `effective` as the dataplane should get it.
pub fn for_dataplane(effective: &Config) -> Cow<'_, Config> {
    let reduced =
        |svc: &crate::config::VirtualService| sched_flags::acting(&svc.scheduler, &svc.sched_flags);
    if effective
        .services
        .iter()
        .all(|svc| reduced(svc) == svc.sched_flags)
    {
        return Cow::Borrowed(effective);
    }
    let mut cfg = effective.clone();
    for svc in &mut cfg.services {
        svc.sched_flags = reduced(svc);
    }
    Cow::Owned(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flags: &[(&str, &[&str])]) -> Config {
        let mut text = String::new();
        for (i, (sched, names)) in flags.iter().enumerate() {
            let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            text.push_str(&format!(
                "[[services]]\nprotocol = \"tcp\"\naddress = \"10.0.0.{}\"\nport = 80\n\
                 scheduler = \"{sched}\"\nsched_flags = [{}]\n",
                i + 1,
                list.join(", ")
            ));
        }
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn inert_flags_stay_behind_and_aliases_take_their_scheduler_names() {
        let cfg = config(&[
            ("wlc", &["flag-1", "flag-3"]),
            ("sh", &["flag-2", "flag-3", "sh-fallback"]),
            ("mh", &["mh-port"]),
        ]);
        let view = for_dataplane(&cfg);
        let flags: Vec<&Vec<String>> = view.services.iter().map(|s| &s.sched_flags).collect();
        assert_eq!(
            flags,
            [
                &Vec::<String>::new(),
                &vec!["sh-port".to_string(), "sh-fallback".to_string()],
                &vec!["mh-port".to_string()],
            ]
        );
        // Everything else is the effective configuration.
        let mut back = view.into_owned();
        for (b, c) in back.services.iter_mut().zip(&cfg.services) {
            b.sched_flags.clone_from(&c.sched_flags);
        }
        assert_eq!(back, cfg);
    }

    #[test]
    fn a_configuration_without_inert_flags_is_not_copied() {
        let cfg = config(&[("sh", &["sh-port"]), ("rr", &[])]);
        assert!(matches!(for_dataplane(&cfg), Cow::Borrowed(_)));
    }
}
