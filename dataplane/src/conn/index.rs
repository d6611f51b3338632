//! The hash index: both sides of every connection, and every template, in one bucket array
//! of chain heads, chained through the slab records themselves.
//!
//! Why chaining through the records: the chain link of each side lives in the record
//! (`Entry::chain`), so the index costs one `u32` head per bucket and nothing per key; with
//! buckets = next power of two ≥ 2 × capacity that is 8–16 bytes per connection, and a
//! lookup hit reads one bucket word and then the record that also holds the key. A chain
//! node is `slab index << 1 | side`, so walking a chain knows which of the record's two keys
//! to compare.
//!
//! The hash is foldhash keyed with a per-table seed the control plane chooses: client
//! addresses and ports are attacker-chosen, and an unkeyed hash would let a client aim every
//! connection at one chain. foldhash is the hash hashbrown uses: a few multiplies for a
//! 13-byte key; SipHash would cost several times more per packet.

use core::hash::Hasher;

use foldhash::SharedSeed;
use foldhash::fast::FoldHasher;

use super::addr::ConnAddr;
use super::entry::Entry;
use super::key::{Direction, Proto};
use super::wheel::NIL;

/// A chain node for side `dir` of slab record `idx`.
#[inline]
pub fn node(idx: u32, dir: Direction) -> u32 {
    (idx << 1) | dir.index() as u32
}

/// The slab record and side of a chain node.
#[inline]
pub fn split(node: u32) -> (u32, Direction) {
    let dir = if node & 1 == 0 {
        Direction::In
    } else {
        Direction::Out
    };
    (node >> 1, dir)
}

#[derive(Clone)]
pub struct Index {
    buckets: Vec<u32>,
    mask: u32,
    seed: u64,
    shared: SharedSeed,
}

impl core::fmt::Debug for Index {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Index")
            .field("buckets", &self.buckets.len())
            .finish_non_exhaustive()
    }
}

impl Index {
    /// An index for up to `capacity` records (two keys each). `capacity` is at most 2^30
    /// (the table checks), so the bucket count fits a `u32`.
    pub fn new(capacity: u32, seed: u64) -> Index {
        let buckets = (u64::from(capacity) * 2).next_power_of_two().max(2);
        Index {
            buckets: vec![NIL; buckets as usize],
            // buckets <= 2^31, so buckets - 1 fits a u32.
            mask: (buckets - 1) as u32,
            seed,
            shared: SharedSeed::from_u64(seed.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.buckets.capacity() * core::mem::size_of::<u32>()
    }

    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// The bucket of a key.
    #[inline]
    pub fn bucket<A: ConnAddr>(
        &self,
        proto: Proto,
        src: &A,
        sport: u16,
        dst: &A,
        dport: u16,
    ) -> u32 {
        let mut h = FoldHasher::with_seed(self.seed, &self.shared);
        src.hash_into(&mut h);
        dst.hash_into(&mut h);
        h.write_u64(u64::from(sport) | (u64::from(dport) << 16) | (u64::from(proto.code()) << 32));
        // Keeping the low bits of the 64-bit hash is the intent.
        (h.finish() as u32) & self.mask
    }

    #[inline]
    pub fn head(&self, bucket: u32) -> u32 {
        self.buckets.get(bucket as usize).copied().unwrap_or(NIL)
    }

    /// Links a node at the head of its bucket's chain (IPVS also adds at the head, so the
    /// newest of several connections with the same reply key is found first).
    pub fn push<A>(&mut self, slab: &mut [Entry<A>], bucket: u32, node: u32) {
        let (idx, dir) = split(node);
        let Some(head) = self.buckets.get_mut(bucket as usize) else {
            return;
        };
        if let Some(e) = slab.get_mut(idx as usize) {
            e.chain[dir.index()] = *head;
            *head = node;
        }
    }

    /// Unlinks a node from its bucket's chain; false if it was not there.
    pub fn unlink<A>(&mut self, slab: &mut [Entry<A>], bucket: u32, node: u32) -> bool {
        let (idx, dir) = split(node);
        let Some(next) = slab.get(idx as usize).map(|e| e.chain[dir.index()]) else {
            return false;
        };
        let Some(head) = self.buckets.get_mut(bucket as usize) else {
            return false;
        };
        if *head == node {
            *head = next;
        } else {
            let mut cur = *head;
            loop {
                if cur == NIL {
                    return false;
                }
                let (ci, cd) = split(cur);
                let Some(c) = slab.get_mut(ci as usize) else {
                    return false;
                };
                if c.chain[cd.index()] == node {
                    c.chain[cd.index()] = next;
                    break;
                }
                cur = c.chain[cd.index()];
            }
        }
        if let Some(e) = slab.get_mut(idx as usize) {
            e.chain[dir.index()] = NIL;
        }
        true
    }

    /// The nodes of a chain starting at `head` (a bucket's head node).
    #[inline]
    pub fn chain_from<'a, A>(&self, slab: &'a [Entry<A>], head: u32) -> Chain<'a, A> {
        Chain { slab, next: head }
    }

    /// The nodes of a bucket's chain, in order.
    #[inline]
    pub fn chain<'a, A>(&self, slab: &'a [Entry<A>], bucket: u32) -> Chain<'a, A> {
        Chain {
            slab,
            next: self.head(bucket),
        }
    }
}

/// Iterator over one chain: `(slab index, side, record)`.
pub struct Chain<'a, A> {
    slab: &'a [Entry<A>],
    next: u32,
}

impl<'a, A> Iterator for Chain<'a, A> {
    type Item = (u32, Direction, &'a Entry<A>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.next == NIL {
            return None;
        }
        let (idx, dir) = split(self.next);
        let e = self.slab.get(idx as usize)?;
        self.next = e.chain[dir.index()];
        Some((idx, dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn node_encoding_round_trips() {
        for idx in [0u32, 1, 77, (1 << 30) - 1] {
            for dir in [Direction::In, Direction::Out] {
                assert_eq!(split(node(idx, dir)), (idx, dir));
            }
        }
    }

    #[test]
    fn push_unlink_keep_chains_intact() {
        let mut ix = Index::new(4, 1);
        let mut slab: Vec<Entry<Ipv4Addr>> = (0..4).map(|_| Entry::vacant(NIL)).collect();
        ix.push(&mut slab, 3, node(0, Direction::In));
        ix.push(&mut slab, 3, node(1, Direction::Out));
        ix.push(&mut slab, 3, node(2, Direction::In));
        let order: Vec<(u32, Direction)> = ix.chain(&slab, 3).map(|(i, d, _)| (i, d)).collect();
        assert_eq!(
            order,
            [(2, Direction::In), (1, Direction::Out), (0, Direction::In)]
        );
        assert!(ix.unlink(&mut slab, 3, node(1, Direction::Out)));
        assert!(!ix.unlink(&mut slab, 3, node(1, Direction::Out)));
        let order: Vec<u32> = ix.chain(&slab, 3).map(|(i, _, _)| i).collect();
        assert_eq!(order, [2, 0]);
        assert!(ix.unlink(&mut slab, 3, node(2, Direction::In)));
        assert!(ix.unlink(&mut slab, 3, node(0, Direction::In)));
        assert_eq!(ix.chain(&slab, 3).count(), 0);
    }

    #[test]
    fn the_seed_changes_the_bucket() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let buckets = |seed| {
            let ix = Index::new(1 << 16, seed);
            (0..64u16)
                .map(|p| ix.bucket(Proto::Tcp, &a, 1000 + p, &b, 80))
                .collect::<Vec<_>>()
        };
        assert_ne!(buckets(1), buckets(2));
        assert_eq!(buckets(1), buckets(1));
    }
}
