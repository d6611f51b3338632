//! Hand-off of packets between workers: one bounded ring per ordered worker pair.
//!
//! A packet that belongs to another worker's connection (FULLNAT return traffic without
//! hardware flow steering) is passed to that worker instead of being handled here. Each
//! (from, to) pair has its own ring, so every ring has exactly one producer and one
//! consumer and no worker waits for another.
//!
//! The ring is crossbeam's `ArrayQueue` rather than an `rte_ring`: it is generic over the
//! buffer type, so the very same hand-off works with mbufs and with the pcap backend's
//! buffers (multi-worker tests run without EAL); it is lock-free, bounded, and allocates
//! only when created. Being multi-producer capable costs one CAS per push, which a
//! dedicated SPSC ring would save; at the rates hand-off is expected (return traffic of a
//! minority of connections) that is not worth a second, hand-written queue.
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;

/// A handed-off packet: the port it arrived on and the buffer.
pub type HandOffItem<B> = (u16, B);

type Ring<B> = Arc<ArrayQueue<HandOffItem<B>>>;

/// One worker's ends of the mesh: a ring towards every other worker and one from each.
pub struct HandOffEnds<B> {
    /// Indexed by destination worker; `None` for ourselves.
    to: Vec<Option<Ring<B>>>,
    /// Rings other workers send to us.
    from: Vec<Ring<B>>,
}

impl<B> HandOffEnds<B> {
    /// The ends of a worker with no peers (a single-worker setup).
    pub fn none() -> HandOffEnds<B> {
        HandOffEnds {
            to: Vec::new(),
            from: Vec::new(),
        }
    }

    /// Passes `buf` (received on `port`) to worker `dest`; gives it back when the ring is
    /// full or `dest` is not a peer.
    #[inline]
    pub fn send(&self, dest: usize, port: u16, buf: B) -> Result<(), B> {
        match self.to.get(dest) {
            Some(Some(ring)) => ring.push((port, buf)).map_err(|(_, b)| b),
            _ => Err(buf),
        }
    }

    /// Takes up to `max` handed-off packets, calling `f` for each.
    #[inline]
    pub fn receive(&self, max: usize, mut f: impl FnMut(u16, B)) -> usize {
        let mut n = 0;
        for ring in &self.from {
            while n < max {
                let Some((port, buf)) = ring.pop() else {
                    break;
                };
                f(port, buf);
                n += 1;
            }
        }
        n
    }
}

/// Builds the rings for `workers` workers, `capacity` packets each, and returns each
/// worker's ends (index = worker id).
pub fn handoff_mesh<B>(workers: usize, capacity: usize) -> Vec<HandOffEnds<B>> {
    let mut ends: Vec<HandOffEnds<B>> = (0..workers)
        .map(|_| HandOffEnds {
            to: (0..workers).map(|_| None).collect(),
            from: Vec::with_capacity(workers.saturating_sub(1)),
        })
        .collect();
    for src in 0..workers {
        for dst in 0..workers {
            if src == dst {
                continue;
            }
            let ring: Ring<B> = Arc::new(ArrayQueue::new(capacity.max(1)));
            if let Some(slot) = ends.get_mut(src).and_then(|e| e.to.get_mut(dst)) {
                *slot = Some(ring.clone());
            }
            if let Some(e) = ends.get_mut(dst) {
                e.from.push(ring);
            }
        }
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_reach_the_named_worker_only() {
        let ends = handoff_mesh::<u32>(3, 2);
        ends[0].send(2, 7, 100).unwrap();
        ends[1].send(2, 8, 200).unwrap();
        let mut got = Vec::new();
        assert_eq!(ends[1].receive(10, |p, b| got.push((p, b))), 0);
        assert_eq!(ends[2].receive(10, |p, b| got.push((p, b))), 2);
        got.sort_unstable();
        assert_eq!(got, vec![(7, 100), (8, 200)]);
        // Full ring and self-sends give the buffer back.
        ends[0].send(1, 0, 1).unwrap();
        ends[0].send(1, 0, 2).unwrap();
        assert_eq!(ends[0].send(1, 0, 3), Err(3));
        assert_eq!(ends[0].send(0, 0, 4), Err(4));
        assert_eq!(HandOffEnds::<u32>::none().send(1, 0, 5), Err(5));
    }
}
