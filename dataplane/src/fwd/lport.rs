//! FULLNAT local ports: which (local address, port) pairs this worker may hand out.
//!
//! The port space of every local address is partitioned among workers by `port % workers
//! == worker`, so a real server's reply, addressed to `laddr:lport`, names the worker that
//! owns the connection (see `steer`). Within its partition a worker hands ports out in
//! order from the bottom of the range, wrapping around and skipping ports in use: for a
//! given configuration and arrival order the choice is reproducible, which is what lets
//! replay tests compute their expected output.
//!
//! One bitmap of 64 Ki bits (8 KiB) per local address per worker; it is allocated when a
//! snapshot first names the address, never on the packet path.
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::net::Ipv4Addr;

use crate::neigh::route::IntHasher;

#[derive(Debug)]
struct Pool {
    used: Box<[u64]>,
    /// The next port to try.
    cursor: u32,
    in_use: u32,
}

/// The local-port allocator of one worker.
#[derive(Debug)]
pub struct LocalPorts {
    pools: HashMap<u32, Pool, BuildHasherDefault<IntHasher>>,
    min: u32,
    max: u32,
    worker: u32,
    workers: u32,
}

impl LocalPorts {
    pub fn new(min: u16, max: u16, worker: u16, workers: u16) -> LocalPorts {
        let (min, max) = (u32::from(min.max(1)), u32::from(max));
        LocalPorts {
            pools: HashMap::default(),
            min,
            max: max.max(min),
            worker: u32::from(worker),
            workers: u32::from(workers.max(1)),
        }
    }

    /// The first port of this worker's partition at or above `from`.
    fn first_from(&self, from: u32) -> u32 {
        let r = from % self.workers;
        if r <= self.worker {
            from + (self.worker - r)
        } else {
            from + (self.workers - r) + self.worker
        }
    }

    /// Makes sure `laddr` has a pool (between bursts).
    pub fn prepare(&mut self, laddr: Ipv4Addr) {
        let start = self.first_from(self.min);
        self.pools.entry(u32::from(laddr)).or_insert_with(|| Pool {
            used: vec![0u64; 1024].into_boxed_slice(),
            cursor: start,
            in_use: 0,
        });
    }

    /// A free port of `laddr` in this worker's partition, marked used; `None` when the
    /// address has no pool or its partition is exhausted.
    pub fn alloc(&mut self, laddr: Ipv4Addr) -> Option<u16> {
        let (min, max, workers) = (self.min, self.max, self.workers);
        let start = self.first_from(min);
        let pool = self.pools.get_mut(&u32::from(laddr))?;
        let span = (max - min) / workers + 1;
        let mut p = pool.cursor;
        for _ in 0..span {
            if p > max {
                p = start;
            }
            let (word, bit) = ((p / 64) as usize, p % 64);
            if let Some(w) = pool.used.get_mut(word)
                && *w & (1 << bit) == 0
            {
                *w |= 1 << bit;
                pool.in_use += 1;
                pool.cursor = p + workers;
                return u16::try_from(p).ok();
            }
            p += workers;
        }
        None
    }

    /// Returns a port to the pool.
    pub fn free(&mut self, laddr: Ipv4Addr, port: u16) {
        let p = u32::from(port);
        if let Some(pool) = self.pools.get_mut(&u32::from(laddr))
            && let Some(w) = pool.used.get_mut((p / 64) as usize)
            && *w & (1 << (p % 64)) != 0
        {
            *w &= !(1 << (p % 64));
            pool.in_use -= 1;
        }
    }

    /// Ports of `laddr` in use on this worker.
    pub fn in_use(&self, laddr: Ipv4Addr) -> u32 {
        self.pools.get(&u32::from(laddr)).map_or(0, |p| p.in_use)
    }

    /// The worker that owns local port `port`.
    pub fn owner(port: u16, workers: u16) -> u16 {
        port % workers.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);

    #[test]
    fn ports_come_in_order_from_the_workers_partition() {
        let mut w1 = LocalPorts::new(1024, 65535, 1, 2);
        w1.prepare(L);
        assert_eq!(w1.alloc(L), Some(1025));
        assert_eq!(w1.alloc(L), Some(1027));
        let mut w0 = LocalPorts::new(1024, 65535, 0, 2);
        w0.prepare(L);
        assert_eq!(w0.alloc(L), Some(1024));
        assert_eq!(LocalPorts::owner(1027, 2), 1);
        // Unknown address: nothing.
        assert_eq!(w0.alloc(Ipv4Addr::new(1, 1, 1, 1)), None);
    }

    #[test]
    fn exhaustion_wraparound_and_reuse() {
        let mut a = LocalPorts::new(2000, 2005, 0, 2);
        a.prepare(L);
        assert_eq!(a.alloc(L), Some(2000));
        assert_eq!(a.alloc(L), Some(2002));
        assert_eq!(a.alloc(L), Some(2004));
        assert_eq!(a.alloc(L), None);
        assert_eq!(a.in_use(L), 3);
        a.free(L, 2002);
        a.free(L, 2002); // double free is harmless
        assert_eq!(a.in_use(L), 2);
        assert_eq!(a.alloc(L), Some(2002));
        assert_eq!(a.alloc(L), None);
    }
}
