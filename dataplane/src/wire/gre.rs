//! GRE (RFC 2784 with the key and sequence-number extensions of RFC 2890): LVS TUN mode
//! with `tun_type gre`, which Linux IPVS sends as a plain GRE header (protocol 0x0800 or
//! 0x86dd), optionally with a checksum (`tun_flags csum`).
//!
//! Only version 0 with the C, K and S bits is accepted; a header with the routing,
//! strict-source-route or recursion bits of RFC 1701 set is refused, as RFC 2784 says a
//! receiver must.

use super::checksum;
use super::ethernet::EtherType;
use super::{Field, read_u16, write_u16};

/// Byte layout of the fixed part of the GRE header (the optional fields follow it).
pub mod field {
    use super::Field;
    /// Flags (C, reserved, K, S, reserved) and version.
    pub const FLAGS_VERSION: Field = 0..2;
    /// EtherType of the payload.
    pub const PROTOCOL: Field = 2..4;
}

/// Length of the fixed header.
pub const BASE_LEN: usize = field::PROTOCOL.end;

const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQ: u16 = 0x1000;
/// Routing (R), strict source route (s), recursion control and the other reserved bits.
const RESERVED_MASK: u16 = 0x4000 | 0x0800 | 0x07f8;
const VERSION_MASK: u16 = 0x0007;

/// Why a GRE packet was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum GreError {
    /// Shorter than the header its flags announce.
    #[error("GRE header truncated")]
    Truncated,
    /// Version other than 0 (version 1 is PPTP's).
    #[error("GRE version is not 0")]
    UnsupportedVersion,
    /// RFC 1701 routing/recursion bits or other reserved bits set.
    #[error("GRE reserved flags set")]
    UnsupportedFlags,
    /// The GRE checksum does not verify.
    #[error("GRE checksum mismatch")]
    BadChecksum,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the GRE header")]
    BufferTooSmall,
}

/// A view of a GRE packet (header and payload).
///
/// After [`Packet::new_checked`] every accessor is panic-free: the optional fields its
/// flags announce are within the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than the header its flags announce.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a GRE packet: version 0, no reserved flags, announced fields present, and
    /// the checksum (when present) verifies over header and payload.
    pub fn new_checked(buffer: T) -> Result<Self, GreError> {
        let buf = buffer.as_ref();
        if buf.len() < BASE_LEN {
            return Err(GreError::Truncated);
        }
        let flags = read_u16(buf, field::FLAGS_VERSION.start);
        if flags & VERSION_MASK != 0 {
            return Err(GreError::UnsupportedVersion);
        }
        if flags & RESERVED_MASK != 0 {
            return Err(GreError::UnsupportedFlags);
        }
        let header_len = BASE_LEN
            + 4 * usize::from(flags & FLAG_CHECKSUM != 0)
            + 4 * usize::from(flags & FLAG_KEY != 0)
            + 4 * usize::from(flags & FLAG_SEQ != 0);
        if header_len > buf.len() {
            return Err(GreError::Truncated);
        }
        if flags & FLAG_CHECKSUM != 0 && !checksum::verify(buf) {
            return Err(GreError::BadChecksum);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn flags(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLAGS_VERSION.start)
    }

    /// C bit: checksum and reserved1 fields present.
    pub fn has_checksum(&self) -> bool {
        self.flags() & FLAG_CHECKSUM != 0
    }

    /// K bit: key field present.
    pub fn has_key(&self) -> bool {
        self.flags() & FLAG_KEY != 0
    }

    /// S bit: sequence number present.
    pub fn has_seq(&self) -> bool {
        self.flags() & FLAG_SEQ != 0
    }

    /// EtherType of the payload.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::PROTOCOL.start))
    }

    /// Header length: 4, plus 4 for each of checksum, key and sequence number.
    pub fn header_len(&self) -> usize {
        BASE_LEN
            + 4 * usize::from(self.has_checksum())
            + 4 * usize::from(self.has_key())
            + 4 * usize::from(self.has_seq())
    }

    /// The checksum, when present.
    pub fn checksum(&self) -> Option<u16> {
        self.has_checksum()
            .then(|| read_u16(self.buffer.as_ref(), BASE_LEN))
    }

    /// The key, when present.
    pub fn key(&self) -> Option<u32> {
        let at = BASE_LEN + 4 * usize::from(self.has_checksum());
        self.has_key()
            .then(|| super::read_u32(self.buffer.as_ref(), at))
    }

    /// The sequence number, when present.
    pub fn seq(&self) -> Option<u32> {
        let at = BASE_LEN + 4 * usize::from(self.has_checksum()) + 4 * usize::from(self.has_key());
        self.has_seq()
            .then(|| super::read_u32(self.buffer.as_ref(), at))
    }

    /// The encapsulated packet.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// The fields of a GRE header, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// EtherType of the payload (IPv4 or IPv6 for LVS tunnels).
    pub protocol: EtherType,
    /// Whether to carry a checksum over header and payload.
    pub checksum: bool,
    /// Optional key (RFC 2890).
    pub key: Option<u32>,
    /// Optional sequence number (RFC 2890).
    pub seq: Option<u32>,
}

impl Repr {
    /// Length of the header this builds.
    pub fn header_len(&self) -> usize {
        BASE_LEN
            + 4 * usize::from(self.checksum)
            + 4 * usize::from(self.key.is_some())
            + 4 * usize::from(self.seq.is_some())
    }

    /// Reads a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Repr {
            protocol: packet.protocol(),
            checksum: packet.has_checksum(),
            key: packet.key(),
            seq: packet.seq(),
        }
    }

    /// Writes the header into the start of `prefix` (checksum field zero); returns its
    /// length. With `checksum`, call [`fill_checksum`] once the payload follows it.
    pub fn emit(&self, prefix: &mut [u8]) -> Result<usize, GreError> {
        let len = self.header_len();
        let out = prefix.get_mut(..len).ok_or(GreError::BufferTooSmall)?;
        let mut flags = 0u16;
        if self.checksum {
            flags |= FLAG_CHECKSUM;
        }
        if self.key.is_some() {
            flags |= FLAG_KEY;
        }
        if self.seq.is_some() {
            flags |= FLAG_SEQ;
        }
        write_u16(out, field::FLAGS_VERSION.start, flags);
        write_u16(out, field::PROTOCOL.start, self.protocol.into());
        let mut at = BASE_LEN;
        if self.checksum {
            out[at..at + 4].fill(0);
            at += 4;
        }
        if let Some(key) = self.key {
            super::write_u32(out, at, key);
            at += 4;
        }
        if let Some(seq) = self.seq {
            super::write_u32(out, at, seq);
        }
        Ok(len)
    }
}

/// Computes the GRE checksum over `packet` (GRE header with the C bit, then the payload).
/// Does nothing when the C bit is clear or the buffer is too short.
pub fn fill_checksum(packet: &mut [u8]) {
    let Ok(flags) = packet
        .get(..2)
        .map(|f| u16::from_be_bytes([f[0], f[1]]))
        .ok_or(())
    else {
        return;
    };
    if flags & FLAG_CHECKSUM == 0 || packet.len() < BASE_LEN + 4 {
        return;
    }
    write_u16(packet, BASE_LEN, 0);
    let value = checksum::checksum(packet);
    write_u16(packet, BASE_LEN, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // scapy: IP(src="10.0.0.1", dst="10.0.0.2")/GRE(chksum_present=1, key_present=1,
    //        key=0x1234, proto=0x0800)/IP(src="192.0.2.10", dst="198.51.100.20")/UDP(sport=1, dport=2)
    const CSUM_KEY: &str = include_str!("testdata/gre_csum_key.hex");
    // scapy: GRE(proto=0x0800)/IP(src="192.0.2.10", dst="198.51.100.20")/UDP(sport=1, dport=2)
    const PLAIN: &str = include_str!("testdata/gre_plain.hex");
    // scapy: GRE(seqnum_present=1, seqence_number=77, proto=0x86dd)/IPv6(src="::1", dst="::1")
    const SEQ: &str = include_str!("testdata/gre_seq.hex");

    #[test]
    fn parse_captures() {
        let bytes = hex(CSUM_KEY);
        let gre = Packet::new_checked(&bytes[20..]).unwrap();
        assert_eq!(
            (gre.has_checksum(), gre.has_key(), gre.has_seq()),
            (true, true, false)
        );
        assert_eq!(gre.key(), Some(0x1234));
        assert_eq!(gre.seq(), None);
        assert_eq!(gre.protocol(), EtherType::Ipv4);
        assert_eq!(gre.header_len(), 12);
        assert_eq!(gre.payload().len(), 28);

        let bytes = hex(PLAIN);
        let gre = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (gre.header_len(), gre.checksum(), gre.key()),
            (4, None, None)
        );

        let bytes = hex(SEQ);
        let gre = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!((gre.seq(), gre.protocol()), (Some(77), EtherType::Ipv6));
    }

    #[test]
    fn builds_match_captures() {
        for capture in [&hex(CSUM_KEY)[20..], &hex(PLAIN)[..], &hex(SEQ)[..]] {
            let repr = Repr::parse(&Packet::new_checked(capture).unwrap());
            let mut buf = capture.to_vec();
            buf[..repr.header_len()].fill(0xaa);
            assert_eq!(repr.emit(&mut buf), Ok(repr.header_len()));
            fill_checksum(&mut buf);
            assert_eq!(&buf[..], capture);
        }
        let repr = Repr {
            protocol: EtherType::Ipv4,
            checksum: true,
            key: Some(1),
            seq: Some(2),
        };
        assert_eq!(repr.emit(&mut [0u8; 15]), Err(GreError::BufferTooSmall));
    }

    #[test]
    fn refusals() {
        let bytes = hex(CSUM_KEY);
        let gre = &bytes[20..];
        let mut bad = gre.to_vec();
        bad[30] ^= 1;
        assert_eq!(Packet::new_checked(&bad[..]), Err(GreError::BadChecksum));
        assert_eq!(Packet::new_checked(&gre[..11]), Err(GreError::Truncated));
        assert_eq!(Packet::new_checked(&gre[..3]), Err(GreError::Truncated));
        let mut v1 = hex(PLAIN);
        v1[1] = 0x01;
        assert_eq!(
            Packet::new_checked(&v1[..]),
            Err(GreError::UnsupportedVersion)
        );
        let mut routing = hex(PLAIN);
        routing[0] = 0x40;
        assert_eq!(
            Packet::new_checked(&routing[..]),
            Err(GreError::UnsupportedFlags)
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            crate::wire::fuzz::gre(&bytes);
        }

        #[test]
        fn build_parse_round_trip(checksum in any::<bool>(), key in any::<Option<u32>>(),
                                  seq in any::<Option<u32>>(), protocol in any::<u16>(),
                                  payload in proptest::collection::vec(any::<u8>(), 0..40)) {
            let repr = Repr { protocol: protocol.into(), checksum, key, seq };
            let mut buf = vec![0u8; repr.header_len() + payload.len()];
            let n = repr.emit(&mut buf).unwrap();
            buf[n..].copy_from_slice(&payload);
            fill_checksum(&mut buf);
            let gre = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&gre), repr);
            prop_assert_eq!(gre.payload(), &payload[..]);
        }
    }
}
