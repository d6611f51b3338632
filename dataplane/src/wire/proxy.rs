//! PROXY protocol version 2 (HAProxy's spec, section 2.2): the binary header a FULLNAT
//! director can put at the start of a TCP stream (or UDP datagram) so that the real
//! server learns the client's address without a kernel module — the alternative to TOA.
//!
//! ```text
//! | signature (12) | ver/cmd (1) | fam/proto (1) | len (2) | addresses (len) |
//! ```
//!
//! rvs builds `PROXY` headers for TCP4/UDP4/TCP6/UDP6 and `LOCAL` headers; the parser
//! exists so tests (and a curious operator's tooling) can check what was sent, and skips
//! TLVs after the addresses.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{read_array, read_u16, write_u16};

/// The 12-byte signature that opens every v2 header.
pub const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Length of the fixed part (signature, ver/cmd, family, length).
pub const FIXED_LEN: usize = 16;
/// Length of the address block for IPv4.
pub const ADDR_LEN_V4: usize = 12;
/// Length of the address block for IPv6.
pub const ADDR_LEN_V6: usize = 36;
/// Longest header this module builds.
pub const MAX_LEN: usize = FIXED_LEN + ADDR_LEN_V6;

const VERSION_2: u8 = 0x20;
const CMD_LOCAL: u8 = 0x00;
const CMD_PROXY: u8 = 0x01;
const FAM_UNSPEC: u8 = 0x00;
const FAM_INET: u8 = 0x10;
const FAM_INET6: u8 = 0x20;
const PROTO_STREAM: u8 = 0x01;
const PROTO_DGRAM: u8 = 0x02;

/// Why a PROXY header could not be built or parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ProxyError {
    /// Shorter than the header announces.
    #[error("PROXY header truncated")]
    Truncated,
    /// Does not start with the v2 signature.
    #[error("PROXY v2 signature missing")]
    BadSignature,
    /// Version other than 2.
    #[error("PROXY protocol version is not 2")]
    UnsupportedVersion,
    /// Command other than LOCAL or PROXY.
    #[error("PROXY command not supported")]
    UnsupportedCommand,
    /// Family/transport other than TCP/UDP over IPv4/IPv6 (or UNSPEC for LOCAL).
    #[error("PROXY address family not supported")]
    UnsupportedFamily,
    /// Source and destination of different families.
    #[error("PROXY source and destination families differ")]
    FamilyMismatch,
    /// Length field too small for the announced family.
    #[error("PROXY length too small for the addresses")]
    BadLength,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the PROXY header")]
    BufferTooSmall,
}

/// The transport the addresses belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP (`STREAM`).
    Stream,
    /// UDP (`DGRAM`).
    Datagram,
}

/// A PROXY v2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Header {
    /// `LOCAL`: the connection is the proxy's own (health checks); no addresses.
    Local,
    /// `PROXY`: the connection is relayed for `src`, which connected to `dst`.
    Proxy {
        /// TCP or UDP.
        transport: Transport,
        /// The client.
        src: SocketAddr,
        /// The address the client connected to (the VIP).
        dst: SocketAddr,
    },
}

impl Header {
    /// Length of the header this builds.
    pub fn len(&self) -> usize {
        match self {
            Header::Local => FIXED_LEN,
            Header::Proxy { src, .. } => {
                FIXED_LEN
                    + match src {
                        SocketAddr::V4(_) => ADDR_LEN_V4,
                        SocketAddr::V6(_) => ADDR_LEN_V6,
                    }
            }
        }
    }

    /// Never empty; present for symmetry with [`Header::len`].
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header into the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, ProxyError> {
        let len = self.len();
        let out = buf.get_mut(..len).ok_or(ProxyError::BufferTooSmall)?;
        out[..12].copy_from_slice(&SIGNATURE);
        match *self {
            Header::Local => {
                out[12] = VERSION_2 | CMD_LOCAL;
                out[13] = FAM_UNSPEC;
                write_u16(out, 14, 0);
            }
            Header::Proxy {
                transport,
                src,
                dst,
            } => {
                let proto = match transport {
                    Transport::Stream => PROTO_STREAM,
                    Transport::Datagram => PROTO_DGRAM,
                };
                out[12] = VERSION_2 | CMD_PROXY;
                match (src.ip(), dst.ip()) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        out[13] = FAM_INET | proto;
                        write_u16(out, 14, 12);
                        out[16..20].copy_from_slice(&s.octets());
                        out[20..24].copy_from_slice(&d.octets());
                        write_u16(out, 24, src.port());
                        write_u16(out, 26, dst.port());
                    }
                    (IpAddr::V6(s), IpAddr::V6(d)) => {
                        out[13] = FAM_INET6 | proto;
                        write_u16(out, 14, 36);
                        out[16..32].copy_from_slice(&s.octets());
                        out[32..48].copy_from_slice(&d.octets());
                        write_u16(out, 48, src.port());
                        write_u16(out, 50, dst.port());
                    }
                    _ => return Err(ProxyError::FamilyMismatch),
                }
            }
        }
        Ok(len)
    }

    /// Parses a header at the start of `buf`; returns it and the bytes it takes (TLVs
    /// after the addresses included, so the payload starts there).
    pub fn parse(buf: &[u8]) -> Result<(Header, usize), ProxyError> {
        let fixed = buf.get(..FIXED_LEN).ok_or(ProxyError::Truncated)?;
        if fixed[..12] != SIGNATURE {
            return Err(ProxyError::BadSignature);
        }
        if fixed[12] & 0xf0 != VERSION_2 {
            return Err(ProxyError::UnsupportedVersion);
        }
        let len = usize::from(read_u16(fixed, 14));
        let total = FIXED_LEN + len;
        let body = buf.get(FIXED_LEN..total).ok_or(ProxyError::Truncated)?;
        let header = match fixed[12] & 0x0f {
            CMD_LOCAL => Header::Local,
            CMD_PROXY => {
                let transport = match fixed[13] & 0x0f {
                    PROTO_STREAM => Transport::Stream,
                    PROTO_DGRAM => Transport::Datagram,
                    _ => return Err(ProxyError::UnsupportedFamily),
                };
                let (src, dst) = match fixed[13] & 0xf0 {
                    FAM_INET => {
                        if body.len() < ADDR_LEN_V4 {
                            return Err(ProxyError::BadLength);
                        }
                        let s = Ipv4Addr::from(read_array::<4>(body, 0));
                        let d = Ipv4Addr::from(read_array::<4>(body, 4));
                        (
                            SocketAddr::new(IpAddr::V4(s), read_u16(body, 8)),
                            SocketAddr::new(IpAddr::V4(d), read_u16(body, 10)),
                        )
                    }
                    FAM_INET6 => {
                        if body.len() < ADDR_LEN_V6 {
                            return Err(ProxyError::BadLength);
                        }
                        let s = Ipv6Addr::from(read_array::<16>(body, 0));
                        let d = Ipv6Addr::from(read_array::<16>(body, 16));
                        (
                            SocketAddr::new(IpAddr::V6(s), read_u16(body, 32)),
                            SocketAddr::new(IpAddr::V6(d), read_u16(body, 34)),
                        )
                    }
                    _ => return Err(ProxyError::UnsupportedFamily),
                };
                Header::Proxy {
                    transport,
                    src,
                    dst,
                }
            }
            _ => return Err(ProxyError::UnsupportedCommand),
        };
        Ok((header, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // The examples below follow the spec's layout byte for byte: signature, 0x21, 0x11
    // (TCP over IPv4), length 12, 192.0.2.10 -> 198.51.100.20, ports 40000 -> 80.
    const TCP4: &str = "0d0a0d0a000d0a515549540a 21 11 000c
        c000020a c6336414 9c40 0050";
    const UDP6: &str = "0d0a0d0a000d0a515549540a 21 22 0024
        20010db8000000000000000000000001 20010db8000000000000000000000002 0035 1f90";
    const LOCAL: &str = "0d0a0d0a000d0a515549540a 20 00 0000";

    fn sa(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn builds_known_bytes() {
        let mut buf = [0u8; MAX_LEN];
        let tcp4 = Header::Proxy {
            transport: Transport::Stream,
            src: sa("192.0.2.10:40000"),
            dst: sa("198.51.100.20:80"),
        };
        let n = tcp4.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &hex(TCP4)[..]);
        let udp6 = Header::Proxy {
            transport: Transport::Datagram,
            src: sa("[2001:db8::1]:53"),
            dst: sa("[2001:db8::2]:8080"),
        };
        let n = udp6.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &hex(UDP6)[..]);
        let n = Header::Local.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &hex(LOCAL)[..]);
    }

    #[test]
    fn parse_with_tlvs_and_payload() {
        let mut bytes = hex(TCP4);
        bytes[15] = 12 + 7; // room for a TLV
        bytes.extend_from_slice(&hex("04 0004 deadbeef")); // PP2_TYPE_NOOP, 4 bytes
        bytes.extend_from_slice(b"GET / HTTP/1.0\r\n");
        let (header, used) = Header::parse(&bytes).unwrap();
        assert_eq!(used, 16 + 19);
        assert_eq!(&bytes[used..used + 3], b"GET");
        assert!(matches!(
            header,
            Header::Proxy {
                transport: Transport::Stream,
                ..
            }
        ));
    }

    #[test]
    fn refusals() {
        let mut buf = [0u8; MAX_LEN];
        let mixed = Header::Proxy {
            transport: Transport::Stream,
            src: sa("192.0.2.10:1"),
            dst: sa("[::1]:2"),
        };
        assert_eq!(mixed.emit(&mut buf), Err(ProxyError::FamilyMismatch));
        assert_eq!(
            Header::Local.emit(&mut buf[..15]),
            Err(ProxyError::BufferTooSmall)
        );
        let good = hex(TCP4);
        assert_eq!(Header::parse(&good[..27]), Err(ProxyError::Truncated));
        let mut bad = good.clone();
        bad[0] = b'P';
        assert_eq!(Header::parse(&bad), Err(ProxyError::BadSignature));
        let mut bad = good.clone();
        bad[12] = 0x11;
        assert_eq!(Header::parse(&bad), Err(ProxyError::UnsupportedVersion));
        let mut bad = good.clone();
        bad[12] = 0x22;
        assert_eq!(Header::parse(&bad), Err(ProxyError::UnsupportedCommand));
        let mut bad = good.clone();
        bad[13] = 0x31; // AF_UNIX
        assert_eq!(Header::parse(&bad), Err(ProxyError::UnsupportedFamily));
        let mut bad = good.clone();
        bad[15] = 8;
        assert_eq!(Header::parse(&bad[..24]), Err(ProxyError::BadLength));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            crate::wire::fuzz::proxy(&bytes);
        }

        #[test]
        fn round_trip(v6 in any::<bool>(), udp in any::<bool>(), a in any::<[u8; 16]>(),
                      b in any::<[u8; 16]>(), sp in any::<u16>(), dp in any::<u16>()) {
            let (src, dst) = if v6 {
                (SocketAddr::new(IpAddr::V6(a.into()), sp), SocketAddr::new(IpAddr::V6(b.into()), dp))
            } else {
                let (s, d) = ([a[0], a[1], a[2], a[3]], [b[0], b[1], b[2], b[3]]);
                (SocketAddr::new(IpAddr::V4(s.into()), sp), SocketAddr::new(IpAddr::V4(d.into()), dp))
            };
            let transport = if udp { Transport::Datagram } else { Transport::Stream };
            let header = Header::Proxy { transport, src, dst };
            let mut buf = [0u8; MAX_LEN];
            let n = header.emit(&mut buf).unwrap();
            prop_assert_eq!(Header::parse(&buf[..n]), Ok((header, n)));
        }
    }
}
