//! mh — Maglev hashing (IPVS `ip_vs_mh.c`; Eisenbud et al., NSDI 2016, §3.4).
//!
//! Each listed server gets a permutation of the table's positions from two hashes of its
//! address and port (`offset = h1 % M`, `skip = h2 % (M - 1) + 1`, M prime); the table is
//! filled by letting servers claim their next free preferred position in turns, each
//! server taking `turns` positions per round, `turns` being its weight divided by the
//! weights' gcd and shifted right so the largest fits in `bits(M)/2` bits (IPVS's
//! `rshift`). The client address (plus port with mh-port) hashed with `h1` picks the
//! position. A server removed changes only ~1/N of the positions.
//!
//! As in IPVS the permutation uses `last_weight`, so quiescing a server (weight 0) keeps
//! the table as it is and only makes that server unavailable: its clients get `None`,
//! or with mh-fallback IPVS's probe sequence to an available server. The hashes are
//! IPVS's (hsiphash with its fixed keys), so the same servers in the same order give the
//! same table as a 64-bit Linux kernel.
//!
//! Table size: one of IPVS's primes. IPVS's default (`CONFIG_IP_VS_MH_TAB_INDEX=12`) is
//! 4093; 65521 brings the share of each of tens of servers within 1% of ideal.
//!
//! Where rvs differs: before probing for a fallback it checks that some available server
//! owns a position, so a service whose servers are all down answers `None` at once
//! instead of hashing up to M times per packet.

use super::BuildError;
use super::dests::{DestId, DestSet};
use super::flow::{Flow, SipKey, fold32, hsiphash_u32};

/// IPVS's table sizes: `primes[CONFIG_IP_VS_MH_TAB_INDEX - 8]`.
pub const MH_PRIMES: [u32; 10] = [
    251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
];

/// IPVS's default table size (`CONFIG_IP_VS_MH_TAB_INDEX` = 12).
pub const MH_DEFAULT_TABLE_SIZE: u32 = 4093;

/// IPVS's fixed keys (`generate_hash_secret`).
const HASH1: SipKey = SipKey(2_654_435_761, 2_654_435_761);
const HASH2: SipKey = SipKey(2_654_446_892, 2_654_446_892);
const EMPTY: u16 = u16::MAX;

#[derive(Debug, Clone)]
pub struct Maglev {
    size: u32,
    /// `IP_VS_MH_TAB_BITS`: half of the size's config index.
    bits: u32,
    lookup: Vec<u16>,
    /// Positions owned by each slot, to know whether a fallback probe can succeed.
    owned: Vec<u32>,
    fallback: bool,
    port: bool,
}

/// `ip_vs_mh_hashkey`.
fn hashkey(addr_fold: u32, port: u16, key: SipKey, offset: u32) -> u32 {
    hsiphash_u32(
        offset.wrapping_add(u32::from(port)).wrapping_add(addr_fold),
        key,
    )
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Bits needed to hold `v` (the kernel's `fls`).
fn fls(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// One server's walk through the table while it is being filled.
struct Walk {
    id: DestId,
    skip: u32,
    perm: u32,
    turns: u32,
}

impl Maglev {
    pub fn new(
        dests: &DestSet,
        table_size: u32,
        fallback: bool,
        port: bool,
    ) -> Result<Self, BuildError> {
        let index = MH_PRIMES
            .iter()
            .position(|&p| p == table_size)
            .ok_or(BuildError::MhTableSize(table_size))?;
        let index = u32::try_from(index).unwrap_or(0);
        let len = usize::try_from(table_size).map_err(|_| BuildError::MhTableSize(table_size))?;
        let mut s = Maglev {
            size: table_size,
            bits: (index + 8) / 2,
            lookup: vec![EMPTY; len],
            owned: Vec::new(),
            fallback,
            port,
        };
        s.rebuild(dests)?;
        Ok(s)
    }

    pub fn table_size(&self) -> u32 {
        self.size
    }

    /// Refills the table for the listed servers (`ip_vs_mh_reassign`). More servers than
    /// positions is refused, as IPVS refuses it (`-EINVAL`).
    pub fn rebuild(&mut self, dests: &DestSet) -> Result<(), BuildError> {
        if dests.len() > self.lookup.len() {
            return Err(BuildError::MhTooManyDests {
                dests: dests.len(),
                table_size: self.size,
            });
        }
        self.lookup.fill(EMPTY);
        self.owned = vec![0; dests.slot_count()];
        let g = dests
            .iter()
            .map(|(_, d)| d.last_weight())
            .filter(|w| *w > 0)
            .fold(0, gcd);
        if g == 0 {
            return Ok(());
        }
        let max = dests
            .iter()
            .map(|(_, d)| d.last_weight())
            .max()
            .unwrap_or(0);
        let rshift = fls(max / g).saturating_sub(self.bits);
        let mut walks: Vec<Walk> = dests
            .iter()
            .map(|(id, d)| {
                let key = d.key();
                let addr = fold32(&key.addr);
                let lw = d.last_weight();
                let turns = (lw / g) >> rshift;
                Walk {
                    id,
                    perm: hashkey(addr, key.port, HASH1, 0) % self.size,
                    skip: hashkey(addr, key.port, HASH2, 0) % (self.size - 1) + 1,
                    turns: if turns > 0 { turns } else { u32::from(lw != 0) },
                }
            })
            .collect();
        self.populate(&mut walks);
        for raw in &self.lookup {
            if let Some(count) =
                DestId::from_raw(*raw).and_then(|id| self.owned.get_mut(id.index()))
            {
                *count += 1;
            }
        }
        Ok(())
    }

    /// `ip_vs_mh_populate`: servers claim positions in turns until the table is full.
    fn populate(&mut self, walks: &mut [Walk]) {
        let mut taken = vec![false; self.lookup.len()];
        let mut filled = 0usize;
        let total = self.lookup.len();
        while filled < total {
            for w in walks.iter_mut().filter(|w| w.turns > 0) {
                for _ in 0..w.turns {
                    // `skip` is in 1..M and M is prime, so the walk visits every position
                    // and finds a free one while the table is not full.
                    while taken.get(w.perm as usize).copied().unwrap_or(false) {
                        w.perm += w.skip;
                        if w.perm >= self.size {
                            w.perm -= self.size;
                        }
                    }
                    if let Some(t) = taken.get_mut(w.perm as usize) {
                        *t = true;
                    }
                    if let Some(slot) = self.lookup.get_mut(w.perm as usize) {
                        *slot = w.id.raw();
                    }
                    filled += 1;
                    if filled == total {
                        return;
                    }
                }
            }
        }
    }

    fn at(&self, pos: u32) -> Option<DestId> {
        self.lookup
            .get(pos as usize)
            .copied()
            .and_then(DestId::from_raw)
    }

    pub fn pick(&self, dests: &DestSet, flow: &Flow) -> Option<DestId> {
        let addr = fold32(&flow.src);
        let port = if self.port { flow.src_port } else { 0 };
        let ihash = hashkey(addr, port, HASH1, 0) % self.size;
        let first = self.at(ihash)?;
        if dests.available(first) || !self.fallback {
            return dests.available(first).then_some(first);
        }
        let reachable = dests
            .iter()
            .any(|(id, d)| d.available() && self.owned.get(id.index()).is_some_and(|&n| n > 0));
        if !reachable {
            return None;
        }
        for offset in 0..self.size {
            let roffset = (offset + ihash) % self.size;
            let id = self.at(hashkey(addr, port, HASH1, roffset) % self.size)?;
            if dests.available(id) {
                return Some(id);
            }
        }
        None
    }

    /// Positions owned by each listed server, for balance checks.
    pub fn shares(&self) -> impl Iterator<Item = (DestId, u32)> + '_ {
        self.owned
            .iter()
            .enumerate()
            .filter_map(|(i, &n)| DestId::from_index(i).map(|id| (id, n)))
    }

    /// The lookup table, position -> slot.
    pub fn table(&self) -> impl Iterator<Item = Option<DestId>> + '_ {
        self.lookup.iter().map(|&raw| DestId::from_raw(raw))
    }
}
