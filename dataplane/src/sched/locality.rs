//! The destination-address table of lblc and lblcr, preallocated and bounded.
//!
//! IPVS keeps these tables as hash lists that grow without bound (`kmalloc` per entry),
//! trimmed by a timer every minute: entries unused for `lblc_expiration` (24 h) go every
//! 30th run, and when there are more than 16384 entries those unused for 6 minutes go.
//! A worker may not allocate per packet, so rvs preallocates `capacity` entries as a
//! 4-way set-associative table (the sets are indexed with IPVS's `hash_32` of the folded
//! address). When the 4 ways of a set are taken, a new address replaces the least
//! recently used of them: a bounded table answers every lookup and insert in constant
//! time, at the cost of forgetting an address that IPVS would still remember. Counted in
//! [`LocalityTable::evictions`].
//!
//! Expiry follows IPVS's timer through [`LocalityTable::maintain`], which the worker
//! calls with its coarse clock (seconds); it does real work once a minute (one pass over
//! the table, no allocation).

use std::net::IpAddr;

use super::flow::{fold32, hash_32};

/// Entries a table holds by default (IPVS's soft limit, `IP_VS_LBLC_TAB_SIZE * 16`).
pub const LOCALITY_DEFAULT_CAPACITY: usize = 16 * 1024;
/// Idle time after which an entry expires unconditionally (sysctl `lblc_expiration`).
pub const LOCALITY_DEFAULT_EXPIRATION: u32 = 24 * 60 * 60;

const WAYS: usize = 4;
/// IPVS `CHECK_EXPIRE_INTERVAL`.
const CHECK_INTERVAL: u32 = 60;
/// IPVS `ENTRY_TIMEOUT`: idle time after which an entry goes when the table is crowded.
const ENTRY_TIMEOUT: u32 = 6 * 60;
/// IPVS `COUNT_FOR_FULL_EXPIRATION`.
const FULL_EXPIRATION_EVERY: u32 = 30;

#[derive(Debug, Clone)]
struct Way<V> {
    key: IpAddr,
    last_use: u32,
    value: V,
}

/// A bounded map from destination address to `V` with IPVS's expiry.
#[derive(Debug, Clone)]
pub struct LocalityTable<V> {
    ways: Vec<Option<Way<V>>>,
    set_bits: u32,
    len: usize,
    /// The crowding limit above which 6-minute-idle entries go (3/4 of the capacity).
    soft_limit: usize,
    expiration: u32,
    now: u32,
    next_check: u32,
    checks: u32,
    evictions: u64,
}

impl<V: Clone> LocalityTable<V> {
    /// A table of at least `capacity` entries (rounded up to a power of two, minimum 4).
    pub fn new(capacity: usize, expiration: u32) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1).next_power_of_two();
        let set_bits = sets.trailing_zeros();
        LocalityTable {
            ways: vec![None; sets * WAYS],
            set_bits,
            len: 0,
            soft_limit: sets * WAYS * 3 / 4,
            expiration,
            now: 0,
            next_check: CHECK_INTERVAL,
            checks: 1,
            evictions: 0,
        }
    }

    fn set_of(&self, key: &IpAddr) -> std::ops::Range<usize> {
        let set = if self.set_bits == 0 {
            0
        } else {
            hash_32(fold32(key), self.set_bits) as usize
        };
        set * WAYS..set * WAYS + WAYS
    }

    /// The entry for `key`, without marking it used.
    pub fn get(&self, key: &IpAddr) -> Option<&V> {
        let range = self.set_of(key);
        self.ways
            .get(range)?
            .iter()
            .flatten()
            .find(|w| w.key == *key)
            .map(|w| &w.value)
    }

    /// The entry for `key`, marked used now.
    pub fn get_mut(&mut self, key: &IpAddr) -> Option<&mut V> {
        let now = self.now;
        let range = self.set_of(key);
        self.ways
            .get_mut(range)?
            .iter_mut()
            .flatten()
            .find(|w| w.key == *key)
            .map(|w| {
                w.last_use = now;
                &mut w.value
            })
    }

    /// Sets the entry for `key` (fresh, used now), replacing an older value or, when the
    /// set is full, its least recently used entry.
    pub fn insert(&mut self, key: IpAddr, value: V) {
        let now = self.now;
        let range = self.set_of(&key);
        let Some(set) = self.ways.get_mut(range) else {
            return;
        };
        let existing = set
            .iter()
            .position(|w| w.as_ref().is_some_and(|w| w.key == key));
        let empty = set.iter().position(Option::is_none);
        let target = existing.or(empty).unwrap_or_else(|| {
            // The oldest way, by age so a wrapped clock still orders correctly.
            set.iter()
                .enumerate()
                .max_by_key(|(i, w)| {
                    (
                        w.as_ref().map_or(0, |w| now.wrapping_sub(w.last_use)),
                        usize::MAX - i,
                    )
                })
                .map_or(0, |(i, _)| i)
        });
        let Some(way) = set.get_mut(target) else {
            return;
        };
        if existing.is_none() {
            if empty.is_some() {
                self.len += 1;
            } else {
                self.evictions += 1;
            }
        }
        *way = Some(Way {
            key,
            last_use: now,
            value,
        });
    }

    /// Applies `keep` to every value; entries for which it returns false are removed.
    /// For rebuilds (a full pass).
    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        for way in &mut self.ways {
            if let Some(w) = way
                && !keep(&mut w.value)
            {
                *way = None;
                self.len = self.len.saturating_sub(1);
            }
        }
    }

    /// Advances the clock (seconds) and runs IPVS's periodic expiry when a minute has
    /// passed: every 30th run drops entries idle for the expiration time; other runs drop
    /// entries idle for 6 minutes if the table holds more than 3/4 of its capacity.
    pub fn maintain(&mut self, now: u32) {
        self.now = now;
        if now.wrapping_sub(self.next_check) > u32::MAX / 2 {
            return; // next_check is still ahead
        }
        self.next_check = now.wrapping_add(CHECK_INTERVAL);
        let idle_limit = if self.checks.is_multiple_of(FULL_EXPIRATION_EVERY) {
            self.checks = 1;
            self.expiration
        } else if self.len > self.soft_limit {
            ENTRY_TIMEOUT
        } else {
            self.checks += 1;
            return;
        };
        for way in &mut self.ways {
            if way
                .as_ref()
                .is_some_and(|w| now.wrapping_sub(w.last_use) >= idle_limit)
            {
                *way = None;
                self.len = self.len.saturating_sub(1);
            }
        }
    }

    /// The clock as last given to [`maintain`](Self::maintain).
    pub fn now(&self) -> u32 {
        self.now
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn capacity(&self) -> usize {
        self.ways.len()
    }
    /// Entries forgotten because their set was full.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
    pub fn expiration(&self) -> u32 {
        self.expiration
    }
}
