//! What the VRRP driver reports about each instance: the control protocol's
//! [`VrrpStatus`] plus what it has no room for — drops by reason and send errors — which
//! the daemon exposes as named counters.

use std::collections::BTreeMap;

use proto::{Counter, VrrpStatus};

/// The state and counters of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceReport {
    pub status: VrrpStatus,
    /// Received packets dropped for this instance, by reason (`ttl`, `auth_failure`,
    /// `interval`, `checksum`, ...). `own` counts our own adverts coming back and is not a
    /// drop.
    pub drops: BTreeMap<String, u64>,
    /// Adverts the kernel refused to send.
    pub send_errors: u64,
    /// The priority advertised now (base priority adjusted by tracking).
    pub effective_priority: u8,
}

impl InstanceReport {
    /// The drop reasons that count as dropped adverts (all but `own`).
    pub fn dropped(&self) -> u64 {
        self.drops
            .iter()
            .filter(|(k, _)| k.as_str() != "own")
            .map(|(_, v)| *v)
            .sum()
    }
}

/// Named counters for the daemon's counter listing:
/// `vrrp_<instance>_drop_<reason>` and `vrrp_<instance>_send_errors`.
pub fn counters(reports: &[InstanceReport]) -> Vec<Counter> {
    let mut out = Vec::new();
    for r in reports {
        for (reason, value) in &r.drops {
            out.push(Counter {
                name: format!("vrrp_{}_drop_{reason}", r.status.name),
                value: *value,
            });
        }
        out.push(Counter {
            name: format!("vrrp_{}_send_errors", r.status.name),
            value: r.send_errors,
        });
    }
    out
}
