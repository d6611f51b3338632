//! Tracking: vrrp_script results with rise/fall, tracked interfaces, and the effective
//! priority (or FAULT) they give an instance — keepalived's rules.
//!
//! - A script (or interface) tracked with weight 0 puts the instance in FAULT while it
//!   fails (is down).
//! - Weight W > 0 adds W to the priority while the script succeeds (interface up).
//! - Weight W < 0 adds W (lowers the priority) while it fails (interface down).
//! - `reverse` swaps success and failure for the purpose of the above.
//! - The result is clamped to 1..=254; an address owner (255) is not adjusted by weights
//!   (keepalived warns and ignores them), though a weight-0 failure still faults it.

/// The rise/fall state of one vrrp_script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptState {
    rise: u32,
    fall: u32,
    ok: bool,
    /// Consecutive results contrary to `ok`.
    streak: u32,
}

impl ScriptState {
    /// A script starts OK unless `init_fail` (keepalived: it starts in the state that does
    /// not need `rise`/`fall` results to leave — OK by default).
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        ScriptState {
            rise: rise.max(1),
            fall: fall.max(1),
            ok: !init_fail,
            streak: 0,
        }
    }

    pub fn ok(&self) -> bool {
        self.ok
    }

    /// Records one run's result; returns true when the state changed.
    pub fn record(&mut self, success: bool) -> bool {
        if success == self.ok {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        let needed = if success { self.rise } else { self.fall };
        if self.streak >= needed {
            self.ok = success;
            self.streak = 0;
            true
        } else {
            false
        }
    }
}

/// One tracked item's contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub weight: i32,
    pub reverse: bool,
    /// Script succeeding / interface up.
    pub up: bool,
}

/// The effective priority, or `None` when the instance must be in FAULT.
pub fn effective_priority(base: u8, tracked: &[Tracked]) -> Option<u8> {
    let mut delta: i32 = 0;
    for t in tracked {
        let up = t.up != t.reverse;
        if t.weight == 0 {
            if !up {
                return None;
            }
        } else if (t.weight > 0) == up {
            // Positive weights count while up, negative ones while down.
            delta += t.weight;
        }
    }
    if base == 255 {
        return Some(255);
    }
    let p = (i32::from(base) + delta).clamp(1, 254);
    // Clamped to 1..=254 just above.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_and_fall_need_consecutive_results() {
        let mut s = ScriptState::new(2, 3, false);
        assert!(s.ok());
        assert!(!s.record(false));
        assert!(!s.record(false));
        assert!(!s.record(true)); // streak broken
        assert!(!s.record(false));
        assert!(!s.record(false));
        assert!(s.record(false));
        assert!(!s.ok());
        assert!(!s.record(true));
        assert!(s.record(true));
        assert!(s.ok());
        let s = ScriptState::new(1, 1, true);
        assert!(!s.ok());
    }

    #[test]
    fn weights_follow_keepalived() {
        let t = |weight, up| Tracked {
            weight,
            reverse: false,
            up,
        };
        assert_eq!(effective_priority(100, &[]), Some(100));
        assert_eq!(effective_priority(100, &[t(20, true)]), Some(120));
        assert_eq!(effective_priority(100, &[t(20, false)]), Some(100));
        assert_eq!(effective_priority(100, &[t(-30, false)]), Some(70));
        assert_eq!(effective_priority(100, &[t(-30, true)]), Some(100));
        assert_eq!(effective_priority(100, &[t(0, false)]), None);
        assert_eq!(effective_priority(100, &[t(0, true)]), Some(100));
        assert_eq!(effective_priority(250, &[t(20, true)]), Some(254));
        assert_eq!(effective_priority(10, &[t(-50, false)]), Some(1));
        assert_eq!(effective_priority(255, &[t(-50, false)]), Some(255));
        assert_eq!(effective_priority(255, &[t(0, false)]), None);
        let rev = Tracked {
            weight: 0,
            reverse: true,
            up: true,
        };
        assert_eq!(effective_priority(100, &[rev]), None);
        let rev = Tracked {
            weight: -10,
            reverse: true,
            up: true,
        };
        assert_eq!(effective_priority(100, &[rev]), Some(90));
    }
}
