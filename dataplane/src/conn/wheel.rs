//! The expiry timer wheel: one ring of slots, one slot per tick, over intrusive doubly
//! linked lists of `u32` node numbers.
//!
//! Why this shape: every connection has a timer that is pushed back on almost every packet,
//! so re-arming must cost nothing, and a million timers must not be scanned to find the few
//! that are due. An entry is linked into the slot of its deadline tick; when the deadline only
//! moves later (the common case: traffic keeps a connection alive) the entry stays where it
//! is and is re-filed when its old slot comes round ("lazy re-arm"); when it moves earlier
//! (ESTABLISHED → CLOSE) it is moved at once, in O(1). Deadlines beyond one revolution are
//! parked in the last slot of the horizon and re-filed when reached, so each timer costs
//! O(1 + lifetime / horizon) over its life: amortised O(1).
//!
//! Slots whose tick has passed are spliced, whole and in O(1) each, onto a "pending" list;
//! the table then examines pending entries one by one within its per-call budget, expiring
//! those whose deadline has passed and re-filing the others. Nothing here allocates after
//! [`Wheel::new`]: list heads are sentinel nodes numbered after the entries, so unlinking
//! never needs to know which list a node is on.

use super::clock::tick_le;

/// "No node".
pub const NIL: u32 = u32::MAX;

const PREV: usize = 0;
const NEXT: usize = 1;

#[derive(Debug, Clone)]
pub struct Wheel {
    /// `[prev, next]` per node: entries `0..entries`, then one sentinel per slot, then the
    /// pending list's sentinel. An unlinked entry holds `[NIL, NIL]`.
    links: Vec<[u32; 2]>,
    entries: u32,
    slot_mask: u32,
    /// The next tick whose slot has not been spliced to pending. Every armed entry sits in
    /// the slot of a tick in `cursor .. cursor + slots`.
    cursor: u32,
    started: bool,
}

impl Wheel {
    /// A wheel for `entries` nodes and `slots` slots (a power of two; the table checks, and
    /// `entries + slots + 1` must fit below [`NIL`]).
    pub fn new(entries: u32, slots: u32) -> Wheel {
        let slots = slots.max(1).next_power_of_two();
        let total = entries as usize + slots as usize + 1;
        let mut links = Vec::with_capacity(total);
        links.resize(entries as usize, [NIL, NIL]);
        for node in entries..entries + slots + 1 {
            links.push([node, node]);
        }
        Wheel {
            links,
            entries,
            slot_mask: slots - 1,
            cursor: 0,
            started: false,
        }
    }

    /// Bytes held, for the memory accounting.
    pub fn memory_bytes(&self) -> usize {
        self.links.capacity() * core::mem::size_of::<[u32; 2]>()
    }

    /// Pins the wheel's position to the first time the table is told; later calls do nothing.
    #[inline]
    pub fn start(&mut self, now_tick: u32) {
        if !self.started {
            self.started = true;
            self.cursor = now_tick;
        }
    }

    #[inline]
    fn slot_sentinel(&self, tick: u32) -> u32 {
        self.entries + (tick & self.slot_mask)
    }

    #[inline]
    fn pending_sentinel(&self) -> u32 {
        self.entries + self.slot_mask + 1
    }

    #[cfg(test)]
    pub fn is_armed(&self, node: u32) -> bool {
        self.links[node as usize][NEXT] != NIL
    }

    /// Links `node` at the tail of the list whose sentinel is `head`.
    #[inline]
    fn link_tail(&mut self, head: u32, node: u32) {
        let tail = self.links[head as usize][PREV];
        self.links[node as usize] = [tail, head];
        self.links[tail as usize][NEXT] = node;
        self.links[head as usize][PREV] = node;
    }

    /// Files an unlinked entry under `deadline`, clamped into the wheel's horizon (an overdue
    /// deadline is filed at the cursor, a far one at the horizon's last slot).
    #[inline]
    pub fn arm(&mut self, node: u32, deadline: u32) {
        let ahead = deadline.wrapping_sub(self.cursor) as i32;
        let tick = if ahead < 0 {
            self.cursor
        } else if ahead.unsigned_abs() > self.slot_mask {
            self.cursor.wrapping_add(self.slot_mask)
        } else {
            deadline
        };
        let head = self.slot_sentinel(tick);
        self.link_tail(head, node);
    }

    /// Unlinks an entry from whichever list holds it; a no-op when it is not linked.
    #[inline]
    pub fn disarm(&mut self, node: u32) {
        let [prev, next] = self.links[node as usize];
        if next == NIL {
            return;
        }
        self.links[prev as usize][NEXT] = next;
        self.links[next as usize][PREV] = prev;
        self.links[node as usize] = [NIL, NIL];
    }

    /// Moves an entry to the slot of a new (earlier) deadline.
    #[inline]
    pub fn rearm(&mut self, node: u32, deadline: u32) {
        self.disarm(node);
        self.arm(node, deadline);
    }

    /// Splices every slot whose tick is at or before `now_tick` onto the pending list: at
    /// most one revolution of O(1) splices, however far time jumped.
    pub fn advance(&mut self, now_tick: u32) {
        self.start(now_tick);
        if !tick_le(self.cursor, now_tick) {
            return;
        }
        let behind = u64::from(now_tick.wrapping_sub(self.cursor)) + 1;
        let count = behind.min(u64::from(self.slot_mask) + 1);
        let pending = self.pending_sentinel();
        for i in 0..count {
            // `i` < slots <= u32::MAX, so the cast is exact.
            let head = self.slot_sentinel(self.cursor.wrapping_add(i as u32));
            self.splice_onto(head, pending);
        }
        self.cursor = now_tick.wrapping_add(1);
    }

    /// Moves the whole list under sentinel `from` to the tail of the list under `to`.
    fn splice_onto(&mut self, from: u32, to: u32) {
        let first = self.links[from as usize][NEXT];
        if first == from {
            return;
        }
        let last = self.links[from as usize][PREV];
        let tail = self.links[to as usize][PREV];
        self.links[tail as usize][NEXT] = first;
        self.links[first as usize][PREV] = tail;
        self.links[last as usize][NEXT] = to;
        self.links[to as usize][PREV] = last;
        self.links[from as usize] = [from, from];
    }

    /// Takes the first pending entry (unlinked on return).
    #[inline]
    pub fn pop_pending(&mut self) -> Option<u32> {
        let pending = self.pending_sentinel();
        let first = self.links[pending as usize][NEXT];
        if first == pending {
            return None;
        }
        self.disarm(first);
        Some(first)
    }

    pub fn has_pending(&self) -> bool {
        let pending = self.pending_sentinel();
        self.links[pending as usize][NEXT] != pending
    }

    /// Every entry node on the wheel or pending, with the tick of its slot (`None` for
    /// pending). Walks everything: for integrity checks only.
    pub fn filed(&self) -> Vec<(u32, Option<u32>)> {
        let mut out = Vec::new();
        for slot in 0..=self.slot_mask {
            let head = self.entries + slot;
            let mut node = self.links[head as usize][NEXT];
            while node != head {
                let tick = self
                    .cursor
                    .wrapping_add(slot.wrapping_sub(self.cursor) & self.slot_mask);
                out.push((node, Some(tick)));
                node = self.links[node as usize][NEXT];
            }
        }
        let head = self.pending_sentinel();
        let mut node = self.links[head as usize][NEXT];
        while node != head {
            out.push((node, None));
            node = self.links[node as usize][NEXT];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut Wheel) -> Vec<u32> {
        let mut v = Vec::new();
        while let Some(n) = w.pop_pending() {
            v.push(n);
        }
        v
    }

    #[test]
    fn entries_come_due_at_their_tick_and_not_before() {
        let mut w = Wheel::new(8, 16);
        w.start(100);
        w.arm(0, 103);
        w.arm(1, 101);
        w.arm(2, 103);
        w.advance(100);
        assert!(drain(&mut w).is_empty());
        w.advance(102);
        assert_eq!(drain(&mut w), [1]);
        w.advance(103);
        assert_eq!(drain(&mut w), [0, 2]);
        assert!(!w.has_pending());
    }

    #[test]
    fn far_deadlines_park_at_the_horizon() {
        let mut w = Wheel::new(4, 8);
        w.start(0);
        w.arm(3, 1000);
        w.advance(6);
        assert!(drain(&mut w).is_empty());
        w.advance(7);
        // Parked at cursor + 7 = tick 7: handed back for re-filing.
        assert_eq!(drain(&mut w), [3]);
    }

    #[test]
    fn overdue_deadlines_are_filed_at_the_cursor() {
        let mut w = Wheel::new(4, 8);
        w.start(50);
        w.advance(60);
        w.arm(1, 40);
        w.advance(61);
        assert_eq!(drain(&mut w), [1]);
    }

    #[test]
    fn a_big_jump_costs_one_revolution() {
        let mut w = Wheel::new(4, 8);
        w.start(0);
        w.arm(0, 2);
        w.arm(1, 7);
        w.advance(1_000_000);
        let mut got = drain(&mut w);
        got.sort();
        assert_eq!(got, [0, 1]);
        // The cursor moved past the jump: a new deadline is filed relative to it.
        w.arm(2, 1_000_003);
        w.advance(1_000_002);
        assert!(drain(&mut w).is_empty());
        w.advance(1_000_003);
        assert_eq!(drain(&mut w), [2]);
    }

    #[test]
    fn disarm_and_rearm_move_entries() {
        let mut w = Wheel::new(4, 8);
        w.start(0);
        w.arm(0, 5);
        w.arm(1, 5);
        w.disarm(0);
        assert!(!w.is_armed(0));
        w.disarm(0); // twice is harmless
        w.rearm(1, 2);
        w.advance(2);
        assert_eq!(drain(&mut w), [1]);
        w.advance(5);
        assert!(drain(&mut w).is_empty());
    }

    #[test]
    fn ticks_wrap() {
        let mut w = Wheel::new(2, 8);
        w.start(u32::MAX - 1);
        w.arm(0, 1); // three ticks later, across the wrap
        w.advance(u32::MAX);
        assert!(drain(&mut w).is_empty());
        w.advance(0);
        assert!(drain(&mut w).is_empty());
        w.advance(1);
        assert_eq!(drain(&mut w), [0]);
    }
}
