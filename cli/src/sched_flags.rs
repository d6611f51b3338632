//! Scheduler flags (`-b`): ipvsadm's three generic bits and their per-scheduler names.
//!
//! IPVS stores three bits; `sh` calls the first two `sh-fallback` and `sh-port`, `mh` calls
//! them `mh-fallback` and `mh-port`, and every scheduler accepts `flag-1`..`flag-3`. The
//! protocol carries names (the daemon validates them), so the client converts both ways:
//! the command line's words to bits (with ipvsadm's checks), bits to the names sent, and
//! the names received back to bits for ipvsadm's listing.

/// `IP_VS_SVC_F_SCHED1`.
pub const SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2`.
pub const SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3`.
pub const SCHED3: u32 = 0x0020;

/// ipvsadm's `parse_sched_flags`: a comma-separated list for scheduler `sched`.
pub fn parse(sched: &str, arg: &str) -> Result<u32, String> {
    let mut flags = 0;
    let words: Vec<&str> = arg.split(',').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Err(format!("invalid scheduler flag `{arg}'"));
    }
    for word in words {
        let (bit, only_for) = match word {
            "flag-1" => (SCHED1, None),
            "flag-2" => (SCHED2, None),
            "flag-3" => (SCHED3, None),
            "sh-fallback" => (SCHED1, Some("sh")),
            "sh-port" => (SCHED2, Some("sh")),
            "mh-fallback" => (SCHED1, Some("mh")),
            "mh-port" => (SCHED2, Some("mh")),
            _ => return Err(format!("invalid scheduler flag `{word}'")),
        };
        flags |= bit;
        if only_for.is_some_and(|s| s != sched) {
            return Err(format!("incompatible scheduler flag `{word}'"));
        }
    }
    Ok(flags)
}

/// The names the protocol carries for `bits` of scheduler `sched`.
pub fn names(sched: &str, bits: u32) -> Vec<String> {
    let per_sched = |first: &str, second: &str| {
        [(SCHED1, first), (SCHED2, second), (SCHED3, "flag-3")]
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, name)| name.to_string())
            .collect()
    };
    match sched {
        "sh" => per_sched("sh-fallback", "sh-port"),
        "mh" => per_sched("mh-fallback", "mh-port"),
        _ => per_sched("flag-1", "flag-2"),
    }
}

/// The bits of a list of flag names (unknown names carry no bit).
pub fn bits(names: &[String]) -> u32 {
    names
        .iter()
        .map(|n| match n.as_str() {
            "flag-1" | "sh-fallback" | "mh-fallback" => SCHED1,
            "flag-2" | "sh-port" | "mh-port" => SCHED2,
            "flag-3" => SCHED3,
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

/// ipvsadm's `print_sched_flags`: the names it lists for `bits` (it never prints `flag-3`
/// for `sh` and `mh`, so such a service lists as `sh ()`).
pub fn display(sched: &str, bits: u32) -> String {
    let chosen: &[(u32, &str)] = match sched {
        "sh" => &[(SCHED1, "sh-fallback"), (SCHED2, "sh-port")],
        "mh" => &[(SCHED1, "mh-fallback"), (SCHED2, "mh-port")],
        _ => &[(SCHED1, "flag-1"), (SCHED2, "flag-2"), (SCHED3, "flag-3")],
    };
    chosen
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_like_ipvsadm() {
        assert_eq!(parse("sh", "sh-port,sh-fallback"), Ok(SCHED1 | SCHED2));
        assert_eq!(parse("wlc", "flag-1,flag-3"), Ok(SCHED1 | SCHED3));
        assert_eq!(
            parse("wlc", "sh-port"),
            Err("incompatible scheduler flag `sh-port'".into())
        );
        assert_eq!(
            parse("mh", "foo"),
            Err("invalid scheduler flag `foo'".into())
        );
        assert!(parse("mh", ",").is_err());
    }

    #[test]
    fn names_and_bits_round_trip() {
        assert_eq!(names("sh", SCHED1 | SCHED2), vec!["sh-fallback", "sh-port"]);
        assert_eq!(names("mh", SCHED2), vec!["mh-port"]);
        assert_eq!(names("rr", SCHED1 | SCHED3), vec!["flag-1", "flag-3"]);
        for sched in ["sh", "mh", "wrr"] {
            for b in 0..8u32 {
                let bits_in = b << 3;
                assert_eq!(bits(&names(sched, bits_in)), bits_in);
            }
        }
    }

    #[test]
    fn display_is_ipvsadm_print_sched_flags() {
        assert_eq!(display("sh", SCHED1 | SCHED2), "sh-fallback,sh-port");
        assert_eq!(display("sh", SCHED3), "");
        assert_eq!(display("wlc", SCHED1 | SCHED3), "flag-1,flag-3");
    }
}
