//! Sharing what one worker learns about neighbours with the others.
//!
//! ARP replies arrive on whichever queue the NIC (or the kernel port) puts them, usually one
//! worker's, while every worker needs the MAC of a real server or gateway. Each worker keeps
//! its own neighbour table (no locks on the packet path) and posts what it learns into the
//! other workers' inboxes: a bounded lock-free queue per worker, drained between bursts. A
//! full inbox loses the update, which costs at most one more ARP request on the worker
//! that missed it.
use std::net::Ipv4Addr;
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;

/// One learned neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighUpdate {
    pub port: u16,
    pub addr: Ipv4Addr,
    pub mac: [u8; 6],
}

/// One worker's ends: its own inbox and the others'.
#[derive(Debug, Clone)]
pub struct NeighSync {
    me: usize,
    inboxes: Arc<[ArrayQueue<NeighUpdate>]>,
}

impl NeighSync {
    /// A worker alone: nothing to share.
    pub fn solo() -> NeighSync {
        NeighSync {
            me: 0,
            inboxes: Arc::from(Vec::new()),
        }
    }

    /// Tells every other worker.
    pub fn publish(&self, u: NeighUpdate) {
        for (i, q) in self.inboxes.iter().enumerate() {
            if i != self.me {
                let _ = q.push(u);
            }
        }
    }

    /// Takes up to `max` updates posted to this worker.
    pub fn drain(&self, max: usize, mut f: impl FnMut(NeighUpdate)) {
        if let Some(q) = self.inboxes.get(self.me) {
            for _ in 0..max {
                match q.pop() {
                    Some(u) => f(u),
                    None => break,
                }
            }
        }
    }
}

/// The ends for `workers` workers (index = worker id), each inbox holding `capacity`.
pub fn neigh_mesh(workers: usize, capacity: usize) -> Vec<NeighSync> {
    let inboxes: Arc<[ArrayQueue<NeighUpdate>]> = (0..workers)
        .map(|_| ArrayQueue::new(capacity.max(1)))
        .collect::<Vec<_>>()
        .into();
    (0..workers)
        .map(|me| NeighSync {
            me,
            inboxes: inboxes.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_reach_the_others_only() {
        let m = neigh_mesh(3, 4);
        let u = NeighUpdate {
            port: 0,
            addr: Ipv4Addr::new(10, 0, 0, 11),
            mac: [2, 0, 0, 0, 0, 11],
        };
        m[1].publish(u);
        let mut got = vec![];
        m[1].drain(10, |x| got.push(x));
        assert!(got.is_empty());
        m[0].drain(10, |x| got.push(x));
        m[2].drain(10, |x| got.push(x));
        assert_eq!(got, vec![u, u]);
        NeighSync::solo().publish(u);
    }
}
