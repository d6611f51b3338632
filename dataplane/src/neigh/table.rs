//! The per-worker neighbour (ARP) table.
//!
//! Each worker owns one table, so it needs no lock. Workers learn from the ARP packets they
//! receive and tell the other workers what they learned (the worker loop carries those
//! updates between bursts), so each table converges to the same content without sharing.
//!
//! The table is fixed-capacity open addressing with linear probing and backward-shift
//! deletion: it allocates once, at construction, and never again. An entry of a neighbour
//! being resolved holds the first few packets sent to it ([`HOLD`]); more are refused and
//! the caller counts them as drops, as the kernel's `unres_qlen` does.
//!
//! Time is whatever monotonic nanosecond clock the caller uses (capture time in replay).
//!
//! States follow the kernel's neighbour states in spirit:
//! - `Incomplete`: a request has been sent; packets are held; requests are repeated every
//!   [`NeighConfig::retrans_ns`] up to [`NeighConfig::max_probes`] times, then the entry
//!   fails, its held packets are released to the caller to be dropped, and further packets
//!   are dropped at once for [`NeighConfig::failed_hold_ns`] (no ARP storm toward a dead
//!   host).
//! - `Reachable`: the MAC was confirmed within [`NeighConfig::reachable_ns`].
//! - `Stale`: older than that; still used, and the caller is asked to send one refresh
//!   request (rate-limited to one per `retrans_ns`), as the kernel's delayed probe does.
//! - `Permanent`: a static neighbour from the configuration; never expires or changes by
//!   learning.

use arrayvec::ArrayVec;

/// Packets held per unresolved neighbour (the kernel's default unres_qlen is 101 packets
/// worth of bytes; a director resolving a real server needs only the first SYNs).
pub const HOLD: usize = 4;

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

/// Timing and size of a neighbour table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighConfig {
    /// Entries (rounded up to a power of two internally, at least 16).
    pub capacity: usize,
    /// A confirmed entry stays Reachable this long (kernel default 30 s).
    pub reachable_ns: u64,
    /// Interval between requests for an unresolved or stale entry (kernel default 1 s).
    pub retrans_ns: u64,
    /// Requests sent before an Incomplete entry fails (kernel default 3).
    pub max_probes: u8,
    /// How long a failed entry drops packets before resolution is tried again.
    pub failed_hold_ns: u64,
    /// An entry unused for this long is removed by [`NeighTable::gc`].
    pub gc_stale_ns: u64,
}

impl Default for NeighConfig {
    fn default() -> Self {
        NeighConfig {
            capacity: 4096,
            reachable_ns: 30_000_000_000,
            retrans_ns: 1_000_000_000,
            max_probes: 3,
            failed_hold_ns: 3_000_000_000,
            gc_stale_ns: 600_000_000_000,
        }
    }
}

/// The state of an entry, for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighState {
    Incomplete,
    Reachable,
    Stale,
    Failed,
    Permanent,
}

impl NeighState {
    /// The name `ip neigh` prints.
    pub fn name(self) -> &'static str {
        match self {
            NeighState::Incomplete => "INCOMPLETE",
            NeighState::Reachable => "REACHABLE",
            NeighState::Stale => "STALE",
            NeighState::Failed => "FAILED",
            NeighState::Permanent => "PERMANENT",
        }
    }
}

/// What the caller must do to send a packet to a neighbour.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution<B> {
    /// Send `buf` to this MAC. If `refresh` is set, also send an ARP request for the
    /// neighbour (the entry is stale).
    Ready { buf: B, mac: Mac, refresh: bool },
    /// The packet is held until the neighbour answers. If `request` is set, send an ARP
    /// request now.
    Held { request: bool },
    /// The packet could not be held; drop it with this reason.
    Refused { buf: B, reason: NeighDrop },
}

/// Why a packet toward an unresolved neighbour was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighDrop {
    /// The neighbour already has [`HOLD`] packets waiting.
    HoldFull,
    /// The neighbour did not answer; resolution is suspended for a while.
    Failed,
    /// No free entry to start resolving.
    TableFull,
}

/// What [`NeighTable::tick`] found for an Incomplete entry.
#[derive(Debug, PartialEq, Eq)]
pub enum TickAction {
    /// Send another request for this neighbour.
    Request { port: u16, ip: u32 },
}

#[derive(Debug)]
struct Entry<B> {
    port: u16,
    ip: u32,
    mac: Mac,
    state: NeighState,
    /// Last confirmation (Reachable/Stale), first request (Incomplete) or failure time.
    since: u64,
    /// Last request sent.
    last_request: u64,
    /// Last time a packet used the entry (for gc).
    last_used: u64,
    probes: u8,
    held: ArrayVec<B, HOLD>,
}

/// A fixed-capacity neighbour table holding packets of type `B` while resolving.
pub struct NeighTable<B> {
    cfg: NeighConfig,
    slots: Box<[Option<Entry<B>>]>,
    mask: usize,
    len: usize,
    /// Next slot [`NeighTable::tick`] and [`NeighTable::gc`] look at: both walk the table
    /// incrementally so no call scans it whole.
    cursor: usize,
}

fn hash(port: u16, ip: u32) -> usize {
    let k = (u64::from(port) << 32) | u64::from(ip);
    // Fibonacci hashing; the high bits are the well-mixed ones.
    let h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // Keeping the top bits is the intent of the shift.
    #[allow(clippy::cast_possible_truncation)]
    let top = (h >> 32) as usize;
    top
}

impl<B> NeighTable<B> {
    /// Creates an empty table; all memory is allocated here.
    pub fn new(cfg: NeighConfig) -> Self {
        // Keep the load factor at or under one half so probe runs stay short.
        let size = (cfg.capacity.max(16) * 2).next_power_of_two();
        let slots = (0..size)
            .map(|_| None)
            .collect::<Vec<_>>()
            .into_boxed_slice();
        NeighTable {
            cfg,
            slots,
            mask: size - 1,
            len: 0,
            cursor: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn find(&self, port: u16, ip: u32) -> Option<usize> {
        let mut i = hash(port, ip) & self.mask;
        loop {
            match &self.slots[i] {
                None => return None,
                Some(e) if e.port == port && e.ip == ip => return Some(i),
                Some(_) => i = (i + 1) & self.mask,
            }
        }
    }

    /// The most entries the table holds.
    pub fn capacity(&self) -> usize {
        self.cfg.capacity.max(16)
    }

    /// Inserts a new entry, or returns false when the table is at capacity.
    fn insert(&mut self, entry: Entry<B>) -> bool {
        if self.len >= self.capacity() {
            return false;
        }
        let mut i = hash(entry.port, entry.ip) & self.mask;
        while self.slots[i].is_some() {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = Some(entry);
        self.len += 1;
        true
    }

    /// Removes the entry at `i` with backward-shift deletion (no tombstones, so lookups
    /// never degrade over time).
    fn remove_at(&mut self, mut i: usize) -> Option<Entry<B>> {
        let removed = self.slots[i].take()?;
        self.len -= 1;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let home = match &self.slots[j] {
                None => break,
                Some(e) => hash(e.port, e.ip) & self.mask,
            };
            // Move j back into the hole at i if its home is not cyclically in (i, j].
            let in_range = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !in_range {
                self.slots[i] = self.slots[j].take();
                i = j;
            }
        }
        Some(removed)
    }

    /// Looks up the MAC for `ip` on `port` to send `buf`; holds `buf` if the neighbour is
    /// not resolved yet.
    pub fn resolve(&mut self, port: u16, ip: u32, now: u64, buf: B) -> Resolution<B> {
        let cfg = self.cfg;
        let Some(e) = self.find(port, ip).and_then(|i| self.slots[i].as_mut()) else {
            if self.len >= self.capacity() {
                return Resolution::Refused {
                    buf,
                    reason: NeighDrop::TableFull,
                };
            }
            let mut held = ArrayVec::new();
            held.push(buf);
            self.insert(Entry {
                port,
                ip,
                mac: [0; 6],
                state: NeighState::Incomplete,
                since: now,
                last_request: now,
                last_used: now,
                probes: 1,
                held,
            });
            return Resolution::Held { request: true };
        };
        e.last_used = now;
        match e.state {
            NeighState::Permanent => Resolution::Ready {
                buf,
                mac: e.mac,
                refresh: false,
            },
            NeighState::Reachable | NeighState::Stale => {
                let mut refresh = false;
                if now.saturating_sub(e.since) >= cfg.reachable_ns {
                    e.state = NeighState::Stale;
                    if now.saturating_sub(e.last_request) >= cfg.retrans_ns {
                        e.last_request = now;
                        refresh = true;
                    }
                }
                Resolution::Ready {
                    buf,
                    mac: e.mac,
                    refresh,
                }
            }
            NeighState::Incomplete => match e.held.try_push(buf) {
                Ok(()) => Resolution::Held { request: false },
                Err(full) => Resolution::Refused {
                    buf: full.element(),
                    reason: NeighDrop::HoldFull,
                },
            },
            NeighState::Failed if now.saturating_sub(e.since) < cfg.failed_hold_ns => {
                Resolution::Refused {
                    buf,
                    reason: NeighDrop::Failed,
                }
            }
            NeighState::Failed => {
                // The failure has been held long enough: try again.
                e.state = NeighState::Incomplete;
                e.since = now;
                e.last_request = now;
                e.probes = 1;
                e.held.push(buf);
                Resolution::Held { request: true }
            }
        }
    }

    /// Records a MAC learned from an ARP packet (request or reply) or configured
    /// statically. Returns the packets that were waiting for it, to be sent now.
    /// A learned MAC never overrides a permanent entry.
    pub fn learn(&mut self, port: u16, ip: u32, mac: Mac, now: u64) -> ArrayVec<B, HOLD> {
        if let Some(i) = self.find(port, ip)
            && let Some(e) = self.slots[i].as_mut()
        {
            if e.state == NeighState::Permanent {
                return ArrayVec::new();
            }
            e.mac = mac;
            e.state = NeighState::Reachable;
            e.since = now;
            e.probes = 0;
            return std::mem::take(&mut e.held);
        }
        // Unsolicited: remember it only if there is room; it costs nothing to forget.
        self.insert(Entry {
            port,
            ip,
            mac,
            state: NeighState::Reachable,
            since: now,
            last_request: 0,
            last_used: now,
            probes: 0,
            held: ArrayVec::new(),
        });
        ArrayVec::new()
    }

    /// Refreshes an existing entry only (the kernel's rule for ARP requests that are not
    /// for us: update a neighbour we already know, do not create one).
    pub fn update_existing(&mut self, port: u16, ip: u32, mac: Mac, now: u64) -> ArrayVec<B, HOLD> {
        if self.find(port, ip).is_some() {
            self.learn(port, ip, mac, now)
        } else {
            ArrayVec::new()
        }
    }

    /// Installs a permanent entry (static neighbour), replacing whatever was there and
    /// returning the packets that waited for it.
    pub fn set_static(&mut self, port: u16, ip: u32, mac: Mac) -> ArrayVec<B, HOLD> {
        if let Some(i) = self.find(port, ip)
            && let Some(e) = self.slots[i].as_mut()
        {
            e.mac = mac;
            e.state = NeighState::Permanent;
            return std::mem::take(&mut e.held);
        }
        self.insert(Entry {
            port,
            ip,
            mac,
            state: NeighState::Permanent,
            since: 0,
            last_request: 0,
            last_used: 0,
            probes: 0,
            held: ArrayVec::new(),
        });
        ArrayVec::new()
    }

    /// Removes an entry (static or learned); its held packets are returned to be dropped.
    pub fn remove(&mut self, port: u16, ip: u32) -> ArrayVec<B, HOLD> {
        match self.find(port, ip).and_then(|i| self.remove_at(i)) {
            Some(e) => e.held,
            None => ArrayVec::new(),
        }
    }

    /// Drives retransmission and failure of Incomplete entries, looking at up to `budget`
    /// slots from where the last call stopped. Requests to send go to `requests`; packets of
    /// neighbours that failed go to `dropped`. Stops early when either output is full.
    pub fn tick<const R: usize, const D: usize>(
        &mut self,
        now: u64,
        budget: usize,
        requests: &mut ArrayVec<TickAction, R>,
        dropped: &mut ArrayVec<B, D>,
    ) {
        let cfg = self.cfg;
        for _ in 0..budget.min(self.slots.len()) {
            if requests.is_full() || dropped.remaining_capacity() < HOLD {
                return;
            }
            let i = self.cursor;
            self.cursor = (self.cursor + 1) & self.mask;
            let Some(e) = self.slots[i].as_mut() else {
                continue;
            };
            if e.state != NeighState::Incomplete
                || now.saturating_sub(e.last_request) < cfg.retrans_ns
            {
                continue;
            }
            if e.probes >= cfg.max_probes {
                e.state = NeighState::Failed;
                e.since = now;
                dropped.extend(e.held.drain(..));
            } else {
                e.probes += 1;
                e.last_request = now;
                requests.push(TickAction::Request {
                    port: e.port,
                    ip: e.ip,
                });
            }
        }
    }

    /// Removes entries unused for `gc_stale_ns` (never permanent or incomplete ones),
    /// looking at up to `budget` slots from where the last call stopped.
    pub fn gc(&mut self, now: u64, budget: usize) -> usize {
        let cfg = self.cfg;
        let mut removed = 0;
        for _ in 0..budget.min(self.slots.len()) {
            let i = self.cursor;
            let expired = match &self.slots[i] {
                Some(e) => {
                    matches!(
                        e.state,
                        NeighState::Reachable | NeighState::Stale | NeighState::Failed
                    ) && now.saturating_sub(e.last_used.max(e.since)) >= cfg.gc_stale_ns
                }
                None => false,
            };
            if expired {
                // Backward shift may move an unvisited entry into slot i: stay on it.
                self.remove_at(i);
                removed += 1;
            } else {
                self.cursor = (self.cursor + 1) & self.mask;
            }
        }
        removed
    }

    /// The entry for a neighbour, for listings and tests: (mac, state).
    pub fn get(&self, port: u16, ip: u32, now: u64) -> Option<(Mac, NeighState)> {
        let e = self.slots[self.find(port, ip)?].as_ref()?;
        let state = match e.state {
            NeighState::Reachable if now.saturating_sub(e.since) >= self.cfg.reachable_ns => {
                NeighState::Stale
            }
            s => s,
        };
        Some((e.mac, state))
    }

    /// Every entry: (port, ip, mac, state). Allocation-free iteration for the control plane.
    pub fn iter(&self, now: u64) -> impl Iterator<Item = (u16, u32, Mac, NeighState)> + '_ {
        self.slots.iter().flatten().map(move |e| {
            let state = match e.state {
                NeighState::Reachable if now.saturating_sub(e.since) >= self.cfg.reachable_ns => {
                    NeighState::Stale
                }
                s => s,
            };
            (e.port, e.ip, e.mac, state)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const S: u64 = 1_000_000_000;
    const MAC_A: Mac = [2, 0, 0, 0, 0, 0xa];
    const MAC_B: Mac = [2, 0, 0, 0, 0, 0xb];

    fn table() -> NeighTable<u32> {
        NeighTable::new(NeighConfig {
            capacity: 16,
            ..NeighConfig::default()
        })
    }

    #[test]
    fn holds_until_learned_then_releases_in_order() {
        let mut t = table();
        assert_eq!(t.resolve(0, 7, 0, 1), Resolution::Held { request: true });
        for p in 2..=HOLD as u32 {
            assert_eq!(t.resolve(0, 7, 0, p), Resolution::Held { request: false });
        }
        assert_eq!(
            t.resolve(0, 7, 0, 99),
            Resolution::Refused {
                buf: 99,
                reason: NeighDrop::HoldFull
            }
        );
        assert_eq!(t.get(0, 7, 0), Some(([0; 6], NeighState::Incomplete)));
        let released = t.learn(0, 7, MAC_A, S / 2);
        assert_eq!(released.as_slice(), &[1, 2, 3, 4]);
        assert_eq!(
            t.resolve(0, 7, S, 5),
            Resolution::Ready {
                buf: 5,
                mac: MAC_A,
                refresh: false
            }
        );
        // Same address on another port is another neighbour.
        assert_eq!(t.resolve(1, 7, S, 6), Resolution::Held { request: true });
    }

    #[test]
    fn stale_entries_are_used_and_refreshed_at_most_once_per_interval() {
        let mut t = table();
        t.learn(0, 7, MAC_A, 0);
        let cfg = NeighConfig::default();
        let later = cfg.reachable_ns + 1;
        assert_eq!(
            t.resolve(0, 7, later, 1),
            Resolution::Ready {
                buf: 1,
                mac: MAC_A,
                refresh: true
            }
        );
        assert_eq!(
            t.resolve(0, 7, later + 1, 2),
            Resolution::Ready {
                buf: 2,
                mac: MAC_A,
                refresh: false
            }
        );
        assert_eq!(t.get(0, 7, later).map(|e| e.1), Some(NeighState::Stale));
        assert_eq!(
            t.resolve(0, 7, later + cfg.retrans_ns, 3),
            Resolution::Ready {
                buf: 3,
                mac: MAC_A,
                refresh: true
            }
        );
        // A reply makes it reachable again, with the new MAC if it changed.
        t.learn(0, 7, MAC_B, later + cfg.retrans_ns + 1);
        assert_eq!(
            t.get(0, 7, later + cfg.retrans_ns + 2),
            Some((MAC_B, NeighState::Reachable))
        );
    }

    #[test]
    fn unanswered_requests_fail_the_entry_and_drop_its_packets() {
        let mut t = table();
        assert_eq!(t.resolve(0, 9, 0, 1), Resolution::Held { request: true });
        assert_eq!(t.resolve(0, 9, 0, 2), Resolution::Held { request: false });
        let mut req: ArrayVec<TickAction, 8> = ArrayVec::new();
        let mut drop: ArrayVec<u32, 8> = ArrayVec::new();
        // Before the retransmit interval nothing happens.
        t.tick(S / 2, 64, &mut req, &mut drop);
        assert!(req.is_empty() && drop.is_empty());
        t.tick(S, 64, &mut req, &mut drop);
        t.tick(2 * S, 64, &mut req, &mut drop);
        assert_eq!(
            req.as_slice(),
            &[
                TickAction::Request { port: 0, ip: 9 },
                TickAction::Request { port: 0, ip: 9 }
            ]
        );
        assert!(drop.is_empty());
        // Third interval after the third request: the entry fails.
        t.tick(3 * S, 64, &mut req, &mut drop);
        assert_eq!(drop.as_slice(), &[1, 2]);
        assert_eq!(t.get(0, 9, 3 * S).map(|e| e.1), Some(NeighState::Failed));
        assert_eq!(
            t.resolve(0, 9, 4 * S, 3),
            Resolution::Refused {
                buf: 3,
                reason: NeighDrop::Failed
            }
        );
        // After the failure hold, resolution starts again.
        assert_eq!(
            t.resolve(0, 9, 6 * S, 4),
            Resolution::Held { request: true }
        );
    }

    #[test]
    fn static_entries_win_over_learning() {
        let mut t = table();
        assert_eq!(t.resolve(0, 5, 0, 1), Resolution::Held { request: true });
        assert_eq!(t.set_static(0, 5, MAC_A).as_slice(), &[1]);
        t.learn(0, 5, MAC_B, 1);
        assert_eq!(t.get(0, 5, 1), Some((MAC_A, NeighState::Permanent)));
        assert_eq!(
            t.resolve(0, 5, u64::MAX / 2, 2),
            Resolution::Ready {
                buf: 2,
                mac: MAC_A,
                refresh: false
            }
        );
        // update_existing does not create entries.
        assert!(t.update_existing(0, 6, MAC_B, 1).is_empty());
        assert_eq!(t.get(0, 6, 1), None);
    }

    #[test]
    fn full_table_refuses_new_neighbours() {
        let mut t = table();
        for ip in 0..16 {
            t.learn(0, ip, MAC_A, 0);
        }
        assert_eq!(t.len(), 16);
        assert_eq!(
            t.resolve(0, 100, 0, 1),
            Resolution::Refused {
                buf: 1,
                reason: NeighDrop::TableFull
            }
        );
        // Known neighbours still work.
        assert!(matches!(t.resolve(0, 3, 0, 2), Resolution::Ready { .. }));
    }

    #[test]
    fn gc_removes_only_unused_learned_entries() {
        let mut t = table();
        let cfg = NeighConfig::default();
        t.learn(0, 1, MAC_A, 0);
        t.set_static(0, 2, MAC_B);
        t.learn(0, 3, MAC_A, 0);
        // Entry 3 is used later, so it survives.
        let _ = t.resolve(0, 3, cfg.gc_stale_ns / 2, 0);
        let removed = t.gc(cfg.gc_stale_ns + 1, usize::MAX);
        assert_eq!(removed, 1);
        assert_eq!(t.get(0, 1, 0), None);
        assert!(t.get(0, 2, 0).is_some());
        assert!(t.get(0, 3, 0).is_some());
    }

    proptest! {
        /// Insert/remove/lookup sequences agree with a HashMap, whatever the collisions
        /// (backward-shift deletion must keep every remaining entry findable).
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((0u8..3, 0u16..2, 0u32..40), 1..300)) {
            let mut t: NeighTable<u32> = NeighTable::new(NeighConfig { capacity: 64, ..NeighConfig::default() });
            let mut model: HashMap<(u16, u32), Mac> = HashMap::new();
            for (op, port, ip) in ops {
                match op {
                    0 => {
                        let mac = [1, 2, 3, 4, port as u8, ip as u8];
                        t.set_static(port, ip, mac);
                        model.insert((port, ip), mac);
                    }
                    1 => {
                        t.remove(port, ip);
                        model.remove(&(port, ip));
                    }
                    _ => {}
                }
                prop_assert_eq!(t.len(), model.len());
                for (&(p, i), mac) in &model {
                    prop_assert_eq!(t.get(p, i, 0).map(|e| e.0), Some(*mac));
                }
                prop_assert_eq!(t.get(port, ip, 0).map(|e| e.0), model.get(&(port, ip)).copied());
            }
        }
    }
}
