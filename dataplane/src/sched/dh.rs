//! dh — destination hashing (IPVS `ip_vs_dh.c`).
//!
//! A 256-bucket table holds the listed servers round-robin (weights ignored); the
//! connection's destination address is hashed with the kernel's `hash_32` to a bucket.
//! An unavailable server gives `None` (dh has no fallback). Useful with a firewall-mark
//! or catch-all service in front of caches, where destinations vary.
//!
//! Differences from IPVS: none; IPv6 addresses are folded to 32 bits as IPVS folds them.

use super::dests::{DestId, DestSet};
use super::flow::{Flow, fold32, hash_32};

/// IPVS's default `CONFIG_IP_VS_DH_TAB_BITS`.
const TAB_BITS: u32 = 8;
const TAB_SIZE: usize = 1 << TAB_BITS;
const EMPTY: u16 = u16::MAX;

#[derive(Debug, Clone)]
pub struct DestinationHash {
    buckets: Box<[u16; TAB_SIZE]>,
}

impl DestinationHash {
    pub fn new(dests: &DestSet) -> Self {
        let mut s = DestinationHash {
            buckets: Box::new([EMPTY; TAB_SIZE]),
        };
        s.rebuild(dests);
        s
    }

    /// Re-deals the buckets round-robin over the listed servers (`ip_vs_dh_reassign`).
    pub fn rebuild(&mut self, dests: &DestSet) {
        let order = dests.order();
        for (i, bucket) in self.buckets.iter_mut().enumerate() {
            *bucket = if order.is_empty() {
                EMPTY
            } else {
                order.get(i % order.len()).map_or(EMPTY, |id| id.raw())
            };
        }
    }

    pub fn pick(&self, dests: &DestSet, flow: &Flow) -> Option<DestId> {
        let bucket = hash_32(fold32(&flow.dst), TAB_BITS) as usize;
        let id = self
            .buckets
            .get(bucket)
            .copied()
            .and_then(DestId::from_raw)?;
        dests.available(id).then_some(id)
    }
}
