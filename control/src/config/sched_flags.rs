//! What a scheduler flag name means to a scheduler.
//!
//! IPVS keeps three flag bits per service and lets every scheduler carry them: `sh` reads
//! the first two as `sh-fallback` and `sh-port`, `mh` as `mh-fallback` and `mh-port`, and
//! every other bit is stored and listed but read by nobody. ipvsadm (`-b flag-1`) and
//! keepalived (`flag-1` in a virtual_server) accept the generic names `flag-1`..`flag-3` on
//! any scheduler, and so does rvs: the configuration keeps the names, listings show them
//! as ipvsadm does, and only the flags a scheduler acts on reach the dataplane. The
//! scheduler-specific names (`sh-port` ...) belong to their scheduler, and ipvsadm refuses
//! them on another ("incompatible scheduler flag").

use std::str::FromStr;

use dataplane::sched::{SchedFlag, SchedulerKind};

/// The generic names, bit 1 to bit 3.
pub const GENERIC: [&str; 3] = ["flag-1", "flag-2", "flag-3"];

/// What a flag name does on a given scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagMeaning {
    /// The scheduler acts on it (also for `flag-1`/`flag-2` on sh and mh).
    Acts(SchedFlag),
    /// Stored and listed, read by nobody (`flag-N` where the scheduler has no such flag).
    Inert,
}

/// Why a flag name cannot be used on a scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagError {
    /// Not a flag name at all (ipvsadm: "invalid scheduler flag").
    Unknown,
    /// A scheduler-specific name on another scheduler (ipvsadm: "incompatible scheduler
    /// flag"); carries the flag, which names its scheduler.
    Incompatible(SchedFlag),
}

/// What `name` means on the scheduler named `scheduler` (compared by name, as ipvsadm
/// compares them, so an unknown scheduler name makes every specific flag incompatible).
pub fn meaning(scheduler: &str, name: &str) -> Result<FlagMeaning, FlagError> {
    let sched = SchedulerKind::from_str(scheduler).ok();
    let bit = GENERIC.iter().position(|g| *g == name);
    if let Some(bit) = bit {
        let acting = match (sched, bit) {
            (Some(SchedulerKind::Sh), 0) => Some(SchedFlag::ShFallback),
            (Some(SchedulerKind::Sh), 1) => Some(SchedFlag::ShPort),
            (Some(SchedulerKind::Mh), 0) => Some(SchedFlag::MhFallback),
            (Some(SchedulerKind::Mh), 1) => Some(SchedFlag::MhPort),
            _ => None,
        };
        return Ok(acting.map_or(FlagMeaning::Inert, FlagMeaning::Acts));
    }
    let flag = SchedFlag::from_str(name).map_err(|_| FlagError::Unknown)?;
    if flag.scheduler().name() == scheduler {
        Ok(FlagMeaning::Acts(flag))
    } else {
        Err(FlagError::Incompatible(flag))
    }
}

/// The name a flag is kept under: the scheduler's own name where it has one (`flag-1` on
/// sh is `sh-fallback`), else the name as given. Names that [`meaning`] refuses are kept
/// as given (the caller has refused them already).
pub fn canonical(scheduler: &str, name: &str) -> String {
    match meaning(scheduler, name) {
        Ok(FlagMeaning::Acts(flag)) => flag.name().to_string(),
        _ => name.to_string(),
    }
}

/// The canonical names of `names` on `scheduler`, each once, in their first order.
pub fn canonical_list(scheduler: &str, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let c = canonical(scheduler, name);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The flags among `names` that `scheduler` acts on, by their specific names: what the
/// dataplane is handed.
pub fn acting(scheduler: &str, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if let Ok(FlagMeaning::Acts(flag)) = meaning(scheduler, name) {
            let n = flag.name().to_string();
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn generic_names_act_on_sh_and_mh_and_are_inert_elsewhere() {
        assert_eq!(
            meaning("sh", "flag-1"),
            Ok(FlagMeaning::Acts(SchedFlag::ShFallback))
        );
        assert_eq!(
            meaning("mh", "flag-2"),
            Ok(FlagMeaning::Acts(SchedFlag::MhPort))
        );
        assert_eq!(meaning("sh", "flag-3"), Ok(FlagMeaning::Inert));
        for sched in ["rr", "wlc", "lblcr", "nosuch"] {
            for g in GENERIC {
                assert_eq!(meaning(sched, g), Ok(FlagMeaning::Inert), "{sched} {g}");
            }
        }
    }

    #[test]
    fn specific_names_belong_to_their_scheduler() {
        assert_eq!(
            meaning("sh", "sh-port"),
            Ok(FlagMeaning::Acts(SchedFlag::ShPort))
        );
        assert_eq!(
            meaning("wlc", "sh-port"),
            Err(FlagError::Incompatible(SchedFlag::ShPort))
        );
        assert_eq!(
            meaning("sh", "mh-port"),
            Err(FlagError::Incompatible(SchedFlag::MhPort))
        );
        assert_eq!(meaning("sh", "flag-4"), Err(FlagError::Unknown));
        assert_eq!(meaning("rr", ""), Err(FlagError::Unknown));
    }

    #[test]
    fn canonical_names_and_what_the_dataplane_gets() {
        assert_eq!(
            canonical_list("sh", &names(&["flag-1", "sh-fallback", "flag-3"])),
            names(&["sh-fallback", "flag-3"])
        );
        assert_eq!(
            canonical_list("wlc", &names(&["flag-1", "flag-3"])),
            names(&["flag-1", "flag-3"])
        );
        assert_eq!(
            acting("sh", &names(&["flag-2", "flag-3", "sh-fallback"])),
            names(&["sh-port", "sh-fallback"])
        );
        assert!(acting("wlc", &names(&["flag-1", "flag-2", "flag-3"])).is_empty());
    }
}
