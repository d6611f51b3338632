//! Longest-prefix-match routing for the director's own traffic decisions.
//!
//! A director's routing table is small and changes rarely: a connected prefix per port
//! address, a default gateway, a few static routes. What matters is the cost of one
//! lookup on the packet path. The table is built once per snapshot (allocation allowed
//! there) and is immutable afterwards; a lookup probes one hash map per *distinct* prefix
//! length present, longest first. With the usual handful of lengths (/32 hosts, the
//! connected /24s, the /0 default) that is three probes and no allocation, whatever the
//! number of routes. A DIR-24-8 table would cost 64 MiB for no measurable gain at this
//! size; a binary trie would cost a pointer chase per bit.
//!
//! The table is generic over the address type ([`RouteAddr`], implemented for IPv4 as
//! `u32` and IPv6 as `u128`) so IPv6 routing uses the same code.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

/// An address type the route table can match: an unsigned integer in network bit order
/// (the most significant bit is the first bit of the address).
pub trait RouteAddr: Copy + Eq + std::hash::Hash + std::fmt::Debug {
    /// Number of bits of the address (32 or 128).
    const BITS: u8;
    /// The address with every bit after the first `len` cleared.
    fn masked(self, len: u8) -> Self;
}

impl RouteAddr for u32 {
    const BITS: u8 = 32;
    fn masked(self, len: u8) -> Self {
        match len {
            0 => 0,
            l if l >= 32 => self,
            l => self & (u32::MAX << (32 - u32::from(l))),
        }
    }
}

impl RouteAddr for u128 {
    const BITS: u8 = 128;
    fn masked(self, len: u8) -> Self {
        match len {
            0 => 0,
            l if l >= 128 => self,
            l => self & (u128::MAX << (128 - u32::from(l))),
        }
    }
}

/// Where a matched packet goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop<A> {
    /// Index of the port the packet leaves through.
    pub port: u16,
    /// The gateway to hand the packet to; `None` for a directly connected prefix, where
    /// the destination itself is the neighbour.
    pub gateway: Option<A>,
}

impl<A: Copy> NextHop<A> {
    /// The address whose MAC the packet must be sent to.
    pub fn neighbour(&self, dst: A) -> A {
        self.gateway.unwrap_or(dst)
    }
}

/// A route to add to a [`RouteTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteEntry<A> {
    pub prefix: A,
    pub len: u8,
    pub next_hop: NextHop<A>,
}

/// Why a route was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("prefix length {len} exceeds {max}")]
    PrefixTooLong { len: u8, max: u8 },
    #[error("duplicate route to {prefix}/{len}")]
    Duplicate { prefix: String, len: u8 },
}

/// A multiplicative hasher for integer keys: the route and neighbour tables hash only
/// small fixed-size integers they control, so SipHash's flood resistance buys nothing
/// and its cost shows on the packet path.
#[derive(Default, Clone, Copy)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0 ^ u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u128(&mut self, v: u128) {
        // Truncation is the point: fold both halves into the state.
        #[allow(clippy::cast_possible_truncation)]
        let (hi, lo) = ((v >> 64) as u64, v as u64);
        self.write_u64(hi);
        self.write_u64(lo);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

#[derive(Debug, Clone)]
struct Level<A> {
    len: u8,
    routes: IntMap<A, NextHop<A>>,
}

/// An immutable longest-prefix-match table.
#[derive(Debug, Clone)]
pub struct RouteTable<A: RouteAddr> {
    /// One level per distinct prefix length, longest first.
    levels: Vec<Level<A>>,
}

impl<A: RouteAddr> Default for RouteTable<A> {
    fn default() -> Self {
        RouteTable { levels: Vec::new() }
    }
}

impl<A: RouteAddr> RouteTable<A> {
    /// Builds a table from routes. Host bits of a prefix are ignored (10.0.0.7/24 is
    /// 10.0.0.0/24), as `ip route` does after warning. Two routes to the same prefix
    /// are refused: the caller (the control plane) decides precedence, not this table.
    pub fn build(routes: &[RouteEntry<A>]) -> Result<Self, RouteError> {
        let mut levels: Vec<Level<A>> = Vec::new();
        for r in routes {
            if r.len > A::BITS {
                return Err(RouteError::PrefixTooLong {
                    len: r.len,
                    max: A::BITS,
                });
            }
            let key = r.prefix.masked(r.len);
            let level = match levels.iter_mut().position(|l| l.len == r.len) {
                Some(i) => &mut levels[i],
                None => {
                    levels.push(Level {
                        len: r.len,
                        routes: IntMap::default(),
                    });
                    let last = levels.len() - 1;
                    &mut levels[last]
                }
            };
            if level.routes.insert(key, r.next_hop).is_some() {
                return Err(RouteError::Duplicate {
                    prefix: format!("{key:?}"),
                    len: r.len,
                });
            }
        }
        levels.sort_by_key(|l| std::cmp::Reverse(l.len));
        Ok(RouteTable { levels })
    }

    /// The next hop for `dst`: the route with the longest matching prefix.
    #[inline]
    pub fn lookup(&self, dst: A) -> Option<NextHop<A>> {
        self.levels
            .iter()
            .find_map(|l| l.routes.get(&dst.masked(l.len)).copied())
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.levels.iter().map(|l| l.routes.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

/// IPv4 routes, addresses as host-order `u32` (`u32::from(Ipv4Addr)`).
pub type RouteTableV4 = RouteTable<u32>;
/// IPv6 routes, addresses as host-order `u128` (`u128::from(Ipv6Addr)`).
pub type RouteTableV6 = RouteTable<u128>;

/// Convenience: an IPv4 route entry.
pub fn v4_route(
    prefix: Ipv4Addr,
    len: u8,
    port: u16,
    gateway: Option<Ipv4Addr>,
) -> RouteEntry<u32> {
    RouteEntry {
        prefix: u32::from(prefix),
        len,
        next_hop: NextHop {
            port,
            gateway: gateway.map(u32::from),
        },
    }
}

/// Convenience: an IPv6 route entry.
pub fn v6_route(
    prefix: Ipv6Addr,
    len: u8,
    port: u16,
    gateway: Option<Ipv6Addr>,
) -> RouteEntry<u128> {
    RouteEntry {
        prefix: u128::from(prefix),
        len,
        next_hop: NextHop {
            port,
            gateway: gateway.map(u128::from),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<Ipv4Addr>().unwrap())
    }

    #[test]
    fn longest_prefix_wins() {
        let t = RouteTableV4::build(&[
            v4_route(
                "0.0.0.0".parse().unwrap(),
                0,
                0,
                Some("10.0.0.1".parse().unwrap()),
            ),
            v4_route("10.0.0.0".parse().unwrap(), 24, 0, None),
            v4_route(
                "10.1.0.0".parse().unwrap(),
                16,
                1,
                Some("10.0.0.254".parse().unwrap()),
            ),
            v4_route("10.1.2.3".parse().unwrap(), 32, 1, None),
        ])
        .unwrap();
        assert_eq!(t.len(), 4);
        let h = t.lookup(ip("10.0.0.9")).unwrap();
        assert_eq!((h.port, h.gateway), (0, None));
        assert_eq!(h.neighbour(ip("10.0.0.9")), ip("10.0.0.9"));
        let h = t.lookup(ip("10.1.9.9")).unwrap();
        assert_eq!((h.port, h.gateway), (1, Some(ip("10.0.0.254"))));
        let h = t.lookup(ip("10.1.2.3")).unwrap();
        assert_eq!((h.port, h.gateway), (1, None));
        let h = t.lookup(ip("192.0.2.1")).unwrap();
        assert_eq!(h.gateway, Some(ip("10.0.0.1")));
        assert_eq!(h.neighbour(ip("192.0.2.1")), ip("10.0.0.1"));
    }

    #[test]
    fn no_default_means_no_route() {
        let t = RouteTableV4::build(&[v4_route("10.0.0.0".parse().unwrap(), 24, 0, None)]).unwrap();
        assert_eq!(t.lookup(ip("10.0.1.1")), None);
        assert!(RouteTableV4::default().lookup(ip("1.1.1.1")).is_none());
    }

    #[test]
    fn host_bits_are_ignored_and_duplicates_refused() {
        let t = RouteTableV4::build(&[v4_route("10.0.0.7".parse().unwrap(), 24, 3, None)]).unwrap();
        assert_eq!(t.lookup(ip("10.0.0.200")).unwrap().port, 3);
        let dup = RouteTableV4::build(&[
            v4_route("10.0.0.0".parse().unwrap(), 24, 0, None),
            v4_route("10.0.0.9".parse().unwrap(), 24, 1, None),
        ]);
        assert!(matches!(dup, Err(RouteError::Duplicate { len: 24, .. })));
        let long = RouteTableV4::build(&[v4_route("10.0.0.0".parse().unwrap(), 33, 0, None)]);
        assert!(matches!(long, Err(RouteError::PrefixTooLong { .. })));
    }

    #[test]
    fn ipv6_routes() {
        let t = RouteTableV6::build(&[
            v6_route(
                "::".parse().unwrap(),
                0,
                0,
                Some("fe80::1".parse().unwrap()),
            ),
            v6_route("2001:db8::".parse().unwrap(), 64, 1, None),
        ])
        .unwrap();
        let a = u128::from("2001:db8::42".parse::<Ipv6Addr>().unwrap());
        assert_eq!(t.lookup(a).unwrap().port, 1);
        let b = u128::from("2001:db9::42".parse::<Ipv6Addr>().unwrap());
        assert_eq!(t.lookup(b).unwrap().port, 0);
    }

    proptest! {
        /// The table agrees with a linear scan for the longest matching prefix.
        #[test]
        fn matches_linear_scan(
            routes in proptest::collection::vec((any::<u32>(), 0u8..=32, 0u16..4), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..50),
        ) {
            let mut entries: Vec<RouteEntry<u32>> = Vec::new();
            for (p, len, port) in routes {
                let key = p.masked(len);
                if entries.iter().any(|e| e.len == len && e.prefix.masked(len) == key) {
                    continue;
                }
                entries.push(RouteEntry { prefix: p, len, next_hop: NextHop { port, gateway: None } });
            }
            let t = RouteTableV4::build(&entries).unwrap();
            for dst in probes.into_iter().chain(entries.iter().map(|e| e.prefix)) {
                let want = entries
                    .iter()
                    .filter(|e| dst.masked(e.len) == e.prefix.masked(e.len))
                    .max_by_key(|e| e.len)
                    .map(|e| e.next_hop);
                prop_assert_eq!(t.lookup(dst), want);
            }
        }
    }
}
