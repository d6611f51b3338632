//! sh — source hashing (IPVS `ip_vs_sh.c`).
//!
//! A 256-bucket table is tiled with the listed servers in order, each taking `weight`
//! consecutive buckets per turn (a zero weight still takes one, as in IPVS's
//! `ip_vs_sh_reassign`). The client address (plus its port with sh-port) is hashed with
//! the kernel's `hash_32` to a bucket. An unavailable server gives `None`, or with
//! sh-fallback the first available server along IPVS's probe sequence.
//!
//! Differences from IPVS: none; IPv6 addresses are folded to 32 bits as IPVS folds them.

use super::dests::{DestId, DestSet};
use super::flow::{Flow, fold32, hash_32};

/// IPVS's default `CONFIG_IP_VS_SH_TAB_BITS`.
const TAB_BITS: u32 = 8;
const TAB_SIZE: usize = 1 << TAB_BITS;
const TAB_MASK: u32 = (1 << TAB_BITS) - 1;
const EMPTY: u16 = u16::MAX;

#[derive(Debug, Clone)]
pub struct SourceHash {
    buckets: Box<[u16; TAB_SIZE]>,
    fallback: bool,
    port: bool,
}

/// `ip_vs_sh_hashkey`: bucket of an address and port, shifted by `offset`.
fn hashkey(addr_fold: u32, port: u16, offset: u32) -> usize {
    let h = offset.wrapping_add(hash_32(u32::from(port).wrapping_add(addr_fold), TAB_BITS));
    (h & TAB_MASK) as usize
}

impl SourceHash {
    pub fn new(dests: &DestSet, fallback: bool, port: bool) -> Self {
        let mut s = SourceHash {
            buckets: Box::new([EMPTY; TAB_SIZE]),
            fallback,
            port,
        };
        s.rebuild(dests);
        s
    }

    /// Re-tiles the table (IPVS reassigns on every add, delete and update).
    pub fn rebuild(&mut self, dests: &DestSet) {
        let order = dests.order();
        if order.is_empty() {
            self.buckets.fill(EMPTY);
            return;
        }
        let mut p = 0usize;
        let mut count = 0u64;
        for bucket in self.buckets.iter_mut() {
            let id = order.get(p % order.len()).copied();
            *bucket = id.map_or(EMPTY, DestId::raw);
            let weight = id.and_then(|id| dests.get(id)).map_or(0, |d| d.weight());
            count += 1;
            if count >= u64::from(weight) {
                p += 1;
                count = 0;
            }
        }
    }

    fn at(&self, bucket: usize) -> Option<DestId> {
        self.buckets.get(bucket).copied().and_then(DestId::from_raw)
    }

    pub fn pick(&self, dests: &DestSet, flow: &Flow) -> Option<DestId> {
        let addr = fold32(&flow.src);
        let port = if self.port { flow.src_port } else { 0 };
        let ihash = hashkey(addr, port, 0);
        let first = self.at(ihash)?;
        if dests.available(first) || !self.fallback {
            return dests.available(first).then_some(first);
        }
        // IPVS's probe: offset `roffset` is added to the hash itself, so the walk visits
        // (offset + 2 * ihash) mod 256 for offset = 0..256 — every bucket once.
        for offset in 0..TAB_SIZE as u32 {
            let roffset = (offset + ihash as u32) % TAB_SIZE as u32;
            let id = self.at(hashkey(addr, port, roffset))?;
            if dests.available(id) {
                return Some(id);
            }
        }
        None
    }

    /// The table, for tests: bucket -> slot.
    pub fn buckets(&self) -> impl Iterator<Item = Option<DestId>> + '_ {
        self.buckets.iter().map(|&b| DestId::from_raw(b))
    }
}
