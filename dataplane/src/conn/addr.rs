//! The address families a connection table can hold.
//!
//! The table is generic over its address type so that IPv6 is a second instance of the same
//! code (`ConnTable<Ipv6Addr>`) rather than a second implementation: a worker keeps one table
//! per family, and the classifier picks the table from the packet's ethertype. This trait is
//! the whole seam: what the table needs from an address is equality, a way to feed it to the
//! hasher, and masking (persistence netmask).
//!
//! Mixed-family connections (an IPv6 VIP forwarded to an IPv4 real server, IPVS's
//! "mixed_address_family_dests") do not fit this shape; they would need an entry type with two
//! address parameters and are not supported.

use core::fmt;
use core::hash::Hasher;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IP address the connection table can key on.
pub trait ConnAddr: Copy + Eq + fmt::Debug + fmt::Display + Send + 'static {
    /// The all-zero address, stored where an entry has no address (the local address of a
    /// non-FULLNAT connection).
    const UNSPECIFIED: Self;
    /// Address width in bits: the largest valid prefix length.
    const BITS: u8;

    /// Feeds the address to a hasher as whole machine words (cheaper than the byte-slice
    /// path of `Hash` for arrays).
    fn hash_into<H: Hasher>(&self, hasher: &mut H);

    /// The address with everything after the first `prefix_len` bits cleared; a prefix
    /// length at or beyond [`Self::BITS`] returns the address unchanged.
    fn masked(self, prefix_len: u8) -> Self;
}

impl ConnAddr for Ipv4Addr {
    const UNSPECIFIED: Self = Ipv4Addr::UNSPECIFIED;
    const BITS: u8 = 32;

    #[inline]
    fn hash_into<H: Hasher>(&self, hasher: &mut H) {
        hasher.write_u32(self.to_bits());
    }

    #[inline]
    fn masked(self, prefix_len: u8) -> Self {
        let mask = u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(prefix_len)))
            .unwrap_or(0);
        Ipv4Addr::from_bits(self.to_bits() & mask)
    }
}

impl ConnAddr for Ipv6Addr {
    const UNSPECIFIED: Self = Ipv6Addr::UNSPECIFIED;
    const BITS: u8 = 128;

    #[inline]
    fn hash_into<H: Hasher>(&self, hasher: &mut H) {
        hasher.write_u128(self.to_bits());
    }

    #[inline]
    fn masked(self, prefix_len: u8) -> Self {
        let mask = u128::MAX
            .checked_shl(128u32.saturating_sub(u32::from(prefix_len)))
            .unwrap_or(0);
        Ipv6Addr::from_bits(self.to_bits() & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_masking() {
        let a = Ipv4Addr::new(192, 168, 37, 201);
        assert_eq!(a.masked(32), a);
        assert_eq!(a.masked(40), a);
        assert_eq!(a.masked(24), Ipv4Addr::new(192, 168, 37, 0));
        assert_eq!(a.masked(20), Ipv4Addr::new(192, 168, 32, 0));
        assert_eq!(a.masked(1), Ipv4Addr::new(128, 0, 0, 0));
        assert_eq!(a.masked(0), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn ipv6_masking() {
        let a: Ipv6Addr = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff".parse().unwrap();
        assert_eq!(a.masked(128), a);
        assert_eq!(
            a.masked(64),
            "2001:db8:aaaa:bbbb::".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(a.masked(36), "2001:db8:a000::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(a.masked(0), Ipv6Addr::UNSPECIFIED);
    }
}
