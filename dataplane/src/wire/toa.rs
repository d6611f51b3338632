//! The TOA ("TCP option address") option: how a FULLNAT director tells real servers the
//! client's address, since their connections come from the director's local address.
//!
//! Kind 254 with two layouts, as the toa kernel modules that real servers load read them
//! (the Alibaba/Huawei/UCloud/DPVS lineage of `toa.ko`, checked against their public
//! sources):
//!
//! ```text
//! IPv4: | 254 | 8  | port (2) | IPv4 address (4)  |
//! IPv6: | 254 | 20 | port (2) | IPv6 address (16) |
//! ```
//!
//! Port and address are in network byte order; both lengths are multiples of 4, so the
//! option needs no padding. Kind 254 is also RFC 6994's shared experimental kind (with a
//! 16-bit ExID after the length): only the two exact lengths above are read as TOA,
//! anything else stays an unknown option.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The option kind the toa modules read.
pub const KIND: u8 = 254;
/// Length of the IPv4 variant, kind and length bytes included.
pub const LEN_V4: usize = 8;
/// Length of the IPv6 variant, kind and length bytes included.
pub const LEN_V6: usize = 20;

/// A client address carried in a TOA option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Toa {
    /// Client port.
    pub port: u16,
    /// Client address; its family decides the variant.
    pub addr: IpAddr,
}

impl Toa {
    /// Reads the option data (the bytes after kind and length), by its length: 6 bytes is
    /// the IPv4 variant, 18 the IPv6 variant, anything else is not a TOA.
    pub fn parse(data: &[u8]) -> Option<Toa> {
        let (port, addr) = data.split_first_chunk::<2>()?;
        let port = u16::from_be_bytes(*port);
        let addr = match addr.len() {
            4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(addr).ok()?)),
            16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(addr).ok()?)),
            _ => return None,
        };
        Some(Toa { port, addr })
    }

    /// Length of the whole option (8 or 20).
    pub fn len(&self) -> usize {
        match self.addr {
            IpAddr::V4(_) => LEN_V4,
            IpAddr::V6(_) => LEN_V6,
        }
    }

    /// Never empty; present for symmetry with [`Toa::len`].
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the whole option into the start of `buf`; returns its length, or `None` when
    /// `buf` is too small.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let len = self.len();
        let out = buf.get_mut(..len)?;
        out[0] = KIND;
        // 8 or 20: always fits the length byte.
        out[1] = len as u8;
        out[2..4].copy_from_slice(&self.port.to_be_bytes());
        match self.addr {
            IpAddr::V4(v4) => out[4..8].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out[4..20].copy_from_slice(&v6.octets()),
        }
        Some(len)
    }

    /// The option as a fixed buffer and its used length, ready for
    /// [`super::tcp::insert_option`].
    pub fn to_bytes(&self) -> ([u8; LEN_V6], usize) {
        let mut out = [0u8; LEN_V6];
        let len = self.emit(&mut out).unwrap_or(0);
        (out, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;

    #[test]
    fn ipv4_layout() {
        let toa = Toa {
            port: 40000,
            addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        };
        let (bytes, len) = toa.to_bytes();
        assert_eq!(&bytes[..len], &hex("fe08 9c40 cb007107")[..]);
        assert_eq!(Toa::parse(&bytes[2..len]), Some(toa));
    }

    #[test]
    fn ipv6_layout() {
        let toa = Toa {
            port: 443,
            addr: IpAddr::V6("2001:db8::7".parse().unwrap()),
        };
        let (bytes, len) = toa.to_bytes();
        assert_eq!(
            &bytes[..len],
            &hex("fe14 01bb 20010db8000000000000000000000007")[..]
        );
        assert_eq!(Toa::parse(&bytes[2..len]), Some(toa));
    }

    #[test]
    fn other_lengths_are_not_toa() {
        assert_eq!(Toa::parse(&[]), None);
        assert_eq!(Toa::parse(&[0xf9, 0x89]), None); // RFC 7413 ExID under kind 254
        assert_eq!(Toa::parse(&[0; 5]), None);
        assert_eq!(Toa::parse(&[0; 17]), None);
        let toa = Toa {
            port: 1,
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        assert_eq!(toa.emit(&mut [0u8; 7]), None);
    }
}
