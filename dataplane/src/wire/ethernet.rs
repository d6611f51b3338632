//! Ethernet II frames and their 802.1Q / 802.1ad (QinQ) VLAN tags.
//!
//! The frame view covers the 14-byte untagged header; [`Frame::walk_tags`] steps over up to
//! [`MAX_TAGS`] VLAN tags (TPID 0x8100 or 0x88a8) and says where the network-layer payload
//! starts and which EtherType it has. The bound exists because a frame may carry any number
//! of tags and the worker must not loop on an attacker's choice; two covers every
//! deployment rvs targets (a C-tag, or an S-tag over a C-tag).

use core::fmt;
use core::str::FromStr;

use super::{Field, Rest, read_array, read_u16, write_u16};

/// Byte layout of the Ethernet II header.
pub mod field {
    use super::{Field, Rest};
    /// Destination MAC address.
    pub const DST: Field = 0..6;
    /// Source MAC address.
    pub const SRC: Field = 6..12;
    /// EtherType of the payload, or the TPID of the first VLAN tag.
    pub const ETHERTYPE: Field = 12..14;
    /// Everything after the untagged header.
    pub const PAYLOAD: Rest = 14..;
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Length of one VLAN tag (TPID + TCI).
pub const TAG_LEN: usize = 4;
/// The most VLAN tags [`Frame::walk_tags`] steps over.
pub const MAX_TAGS: usize = 2;
/// Smallest frame on the wire without the FCS; shorter frames are padded by the sender.
pub const MIN_FRAME_LEN: usize = 60;

/// Why an Ethernet frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EthernetError {
    /// Shorter than the 14-byte header.
    #[error("frame shorter than the Ethernet header")]
    Truncated,
    /// A VLAN tag announced by its TPID is cut short.
    #[error("VLAN tag cut short")]
    TruncatedTag,
    /// More stacked VLAN tags than [`MAX_TAGS`].
    #[error("more than {MAX_TAGS} stacked VLAN tags")]
    TooManyTags,
    /// A setter named a tag the frame does not have.
    #[error("no VLAN tag at that index")]
    NoSuchTag,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the Ethernet header")]
    BufferTooSmall,
}

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00, the "unknown" target of an ARP request.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The six bytes in transmission order.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// True for ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(self) -> bool {
        self == Self::BROADCAST
    }

    /// True for group addresses (least significant bit of the first byte set), broadcast
    /// included.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True for individual (unicast) addresses.
    pub fn is_unicast(self) -> bool {
        !self.is_multicast()
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Why a MAC address text did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address (expected six hex bytes separated by ':' or '-')")]
pub struct MacParseError;

impl FromStr for MacAddr {
    type Err = MacParseError;

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), one or two hex digits per byte.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = text.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or(MacParseError)?;
            if part.is_empty() || part.len() > 2 {
                return Err(MacParseError);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| MacParseError)?;
        }
        if parts.next().is_some() {
            return Err(MacParseError);
        }
        Ok(MacAddr(out))
    }
}

/// The EtherTypes rvs acts on; anything else is kept as `Unknown` (a total mapping, so a
/// round trip through this enum never loses a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// 0x0800.
    Ipv4,
    /// 0x0806.
    Arp,
    /// 0x86dd.
    Ipv6,
    /// 0x8100, an 802.1Q customer tag.
    Vlan,
    /// 0x88a8, an 802.1ad service tag (QinQ).
    QinQ,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            0x88a8 => EtherType::QinQ,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Vlan => 0x8100,
            EtherType::QinQ => 0x88a8,
            EtherType::Unknown(other) => other,
        }
    }
}

impl EtherType {
    /// True for the TPIDs that start a VLAN tag.
    pub fn is_vlan_tpid(self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::QinQ)
    }
}

/// One VLAN tag: its TPID and its tag control information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// 0x8100 or 0x88a8.
    pub tpid: EtherType,
    /// PCP (3 bits), DEI (1 bit), VID (12 bits).
    pub tci: u16,
}

impl VlanTag {
    /// The 12-bit VLAN identifier.
    pub fn vid(self) -> u16 {
        self.tci & 0x0fff
    }

    /// The 3-bit priority code point.
    pub fn pcp(self) -> u8 {
        // Three bits after the shift.
        (self.tci >> 13) as u8
    }

    /// The drop-eligible indicator.
    pub fn dei(self) -> bool {
        self.tci & 0x1000 != 0
    }
}

/// What [`Frame::walk_tags`] found between the MAC addresses and the network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagWalk {
    /// The first tag on the wire (the S-tag of a QinQ frame, the only tag otherwise).
    pub outer: Option<VlanTag>,
    /// The second tag (the C-tag of a QinQ frame).
    pub inner: Option<VlanTag>,
    /// EtherType of the network-layer payload.
    pub ethertype: EtherType,
    /// Offset of the network-layer payload from the start of the frame.
    pub payload_offset: usize,
}

impl TagWalk {
    /// The VLAN that identifies the frame's network: the innermost tag's VID.
    pub fn vlan_id(&self) -> Option<u16> {
        self.inner.or(self.outer).map(VlanTag::vid)
    }

    /// How many tags were stepped over.
    pub fn tag_count(&self) -> usize {
        usize::from(self.outer.is_some()) + usize::from(self.inner.is_some())
    }
}

/// A view of an Ethernet II frame.
///
/// After [`Frame::new_checked`] every accessor is panic-free: the 14-byte header is there.
/// [`Frame::walk_tags`] checks the tags itself and returns typed errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Frame { buffer }
    }

    /// Wraps a buffer that holds at least the untagged header.
    pub fn new_checked(buffer: T) -> Result<Self, EthernetError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(EthernetError::Truncated);
        }
        Ok(Frame { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    pub fn dst(&self) -> MacAddr {
        MacAddr(read_array(self.buffer.as_ref(), field::DST.start))
    }

    /// Source address.
    pub fn src(&self) -> MacAddr {
        MacAddr(read_array(self.buffer.as_ref(), field::SRC.start))
    }

    /// The EtherType field right after the addresses (a TPID on tagged frames).
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// Everything after the untagged header (starts with a tag on tagged frames).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }

    /// Steps over up to [`MAX_TAGS`] VLAN tags and reports the network-layer EtherType and
    /// offset.
    pub fn walk_tags(&self) -> Result<TagWalk, EthernetError> {
        let buf = self.buffer.as_ref();
        let mut walk = TagWalk {
            outer: None,
            inner: None,
            ethertype: self.ethertype(),
            payload_offset: HEADER_LEN,
        };
        while walk.ethertype.is_vlan_tpid() {
            // The TPID was the 2 bytes before `payload_offset`; the TCI and the next
            // EtherType follow it.
            let tci_at = walk.payload_offset;
            let next = buf
                .get(tci_at..tci_at + TAG_LEN)
                .ok_or(EthernetError::TruncatedTag)?;
            let tag = VlanTag {
                tpid: walk.ethertype,
                tci: u16::from_be_bytes([next[0], next[1]]),
            };
            match (walk.outer, walk.inner) {
                (None, _) => walk.outer = Some(tag),
                (Some(_), None) => walk.inner = Some(tag),
                (Some(_), Some(_)) => return Err(EthernetError::TooManyTags),
            }
            walk.ethertype = EtherType::from(u16::from_be_bytes([next[2], next[3]]));
            walk.payload_offset += TAG_LEN;
        }
        Ok(walk)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination address.
    pub fn set_dst(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType field right after the addresses.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(
            self.buffer.as_mut(),
            field::ETHERTYPE.start,
            ethertype.into(),
        );
    }

    /// Exchanges source and destination, turning a received frame around.
    pub fn swap_addresses(&mut self) {
        let buf = self.buffer.as_mut();
        let (dst, rest) = buf.split_at_mut(field::SRC.start);
        dst.swap_with_slice(&mut rest[..6]);
    }

    /// Everything after the untagged header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }

    /// Rewrites the VID of tag `index` (0 = outer) keeping its PCP and DEI bits.
    pub fn set_vlan_id(&mut self, index: usize, vid: u16) -> Result<(), EthernetError> {
        let walk = self.walk_tags()?;
        if index >= walk.tag_count() {
            return Err(EthernetError::NoSuchTag);
        }
        let at = HEADER_LEN + index * TAG_LEN;
        let buf = self.buffer.as_mut();
        let tci = read_u16(buf, at);
        write_u16(buf, at, (tci & 0xf000) | (vid & 0x0fff));
        Ok(())
    }
}

/// Writes an untagged Ethernet II header; returns its length (14).
pub fn emit_header(
    buf: &mut [u8],
    dst: MacAddr,
    src: MacAddr,
    ethertype: EtherType,
) -> Result<usize, EthernetError> {
    let header = buf
        .get_mut(..HEADER_LEN)
        .ok_or(EthernetError::BufferTooSmall)?;
    header[field::DST].copy_from_slice(&dst.0);
    header[field::SRC].copy_from_slice(&src.0);
    write_u16(header, field::ETHERTYPE.start, ethertype.into());
    Ok(HEADER_LEN)
}

/// Writes an Ethernet header with one 802.1Q tag (PCP 0); returns its length (18).
pub fn emit_tagged_header(
    buf: &mut [u8],
    dst: MacAddr,
    src: MacAddr,
    vid: u16,
    ethertype: EtherType,
) -> Result<usize, EthernetError> {
    let header = buf
        .get_mut(..HEADER_LEN + TAG_LEN)
        .ok_or(EthernetError::BufferTooSmall)?;
    emit_header(header, dst, src, EtherType::Vlan)?;
    write_u16(header, HEADER_LEN, vid & 0x0fff);
    write_u16(header, HEADER_LEN + 2, ethertype.into());
    Ok(HEADER_LEN + TAG_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;

    // scapy: Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:12:34:56")/ARP(op=1,
    //        hwsrc="52:54:00:12:34:56", psrc="10.0.0.1", pdst="10.0.0.2")
    const UNTAGGED: &str = "ffffffffffff525400123456 0806
        00010800060400015254001234560a0000010000000000000a000002";

    // scapy: Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    //        /Dot1Q(vlan=100, prio=5)/IP(src="10.0.0.1", dst="10.0.0.2")/ICMP()
    const TAGGED: &str = "020000000002020000000001 8100 a064 0800
        4500001c00010000400166de0a0000010a0000020800f7ff00000000";

    // scapy: Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    //        /Dot1AD(vlan=300)/Dot1Q(vlan=42)/IPv6(src="::1", dst="::1")
    const QINQ: &str = "020000000002020000000001 88a8 012c 8100 002a 86dd
        6000000000003b400000000000000000000000000000000100000000000000000000000000000001";

    #[test]
    fn untagged_header() {
        let bytes = hex(UNTAGGED);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.dst(), MacAddr::BROADCAST);
        assert_eq!(frame.src(), MacAddr([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
        assert_eq!(frame.ethertype(), EtherType::Arp);
        let walk = frame.walk_tags().unwrap();
        assert_eq!(walk.tag_count(), 0);
        assert_eq!(walk.payload_offset, 14);
        assert_eq!(walk.vlan_id(), None);
    }

    #[test]
    fn single_tag() {
        let bytes = hex(TAGGED);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        let walk = frame.walk_tags().unwrap();
        assert_eq!(walk.ethertype, EtherType::Ipv4);
        assert_eq!(walk.payload_offset, 18);
        assert_eq!(walk.vlan_id(), Some(100));
        let tag = walk.outer.unwrap();
        assert_eq!(
            (tag.tpid, tag.pcp(), tag.dei()),
            (EtherType::Vlan, 5, false)
        );
        assert_eq!(bytes[walk.payload_offset] >> 4, 4);
    }

    #[test]
    fn qinq_tags() {
        let bytes = hex(QINQ);
        let walk = Frame::new_checked(&bytes[..]).unwrap().walk_tags().unwrap();
        assert_eq!(walk.outer.map(VlanTag::vid), Some(300));
        assert_eq!(walk.outer.map(|t| t.tpid), Some(EtherType::QinQ));
        assert_eq!(walk.inner.map(VlanTag::vid), Some(42));
        assert_eq!(walk.vlan_id(), Some(42));
        assert_eq!(walk.ethertype, EtherType::Ipv6);
        assert_eq!(walk.payload_offset, 22);
    }

    #[test]
    fn three_tags_are_refused() {
        let mut bytes = hex("020000000002020000000001 8100 0001 8100 0002 8100 0003 0800");
        bytes.extend_from_slice(&[0; 20]);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.walk_tags(), Err(EthernetError::TooManyTags));
    }

    #[test]
    fn truncated_inputs() {
        assert_eq!(
            Frame::new_checked(&[0u8; 13][..]),
            Err(EthernetError::Truncated)
        );
        let bytes = hex("020000000002020000000001 8100 00");
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.walk_tags(), Err(EthernetError::TruncatedTag));
    }

    #[test]
    fn setters_and_swap() {
        let mut bytes = hex(TAGGED);
        let mut frame = Frame::new_checked(&mut bytes[..]).unwrap();
        frame.swap_addresses();
        assert_eq!(frame.dst(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(frame.src(), MacAddr([2, 0, 0, 0, 0, 2]));
        frame.set_vlan_id(0, 4000).unwrap();
        assert_eq!(frame.set_vlan_id(1, 1), Err(EthernetError::NoSuchTag));
        let walk = frame.walk_tags().unwrap();
        assert_eq!(walk.vlan_id(), Some(4000));
        assert_eq!(walk.outer.unwrap().pcp(), 5);
        frame.set_dst(MacAddr::BROADCAST);
        frame.set_ethertype(EtherType::Unknown(0x1234));
        assert_eq!(&bytes[..6], &[0xff; 6]);
        assert_eq!(&bytes[12..14], &[0x12, 0x34]);
    }

    #[test]
    fn emit_matches_scapy() {
        let mut buf = [0u8; 18];
        let n = emit_tagged_header(
            &mut buf,
            MacAddr([2, 0, 0, 0, 0, 2]),
            MacAddr([2, 0, 0, 0, 0, 1]),
            100,
            EtherType::Ipv4,
        )
        .unwrap();
        assert_eq!(n, 18);
        // Same as TAGGED except the PCP bits (builders emit priority 0).
        assert_eq!(
            &buf[..],
            &hex("020000000002020000000001 8100 0064 0800")[..]
        );
        assert_eq!(
            emit_header(&mut buf[..13], MacAddr::ZERO, MacAddr::ZERO, EtherType::Arp),
            Err(EthernetError::BufferTooSmall)
        );
    }

    #[test]
    fn mac_text() {
        let mac: MacAddr = "52:54:00:ab:CD:0f".parse().unwrap();
        assert_eq!(mac.to_string(), "52:54:00:ab:cd:0f");
        assert_eq!("2-0-0-0-0-1".parse(), Ok(MacAddr([2, 0, 0, 0, 0, 1])));
        for bad in [
            "",
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:0f:00",
            "525:4:00:ab:cd:0f",
            "zz:00:00:00:00:00",
            "::::::",
        ] {
            assert_eq!(bad.parse::<MacAddr>(), Err(MacParseError), "{bad}");
        }
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x01, 0, 0x5e, 0, 0, 0x12]).is_multicast());
        assert!(MacAddr([0x02, 0, 0, 0, 0, 1]).is_unicast());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            crate::wire::fuzz::frame(&bytes);
        }

        #[test]
        fn tag_walk_on_tag_shaped_bytes(
            tpids in proptest::collection::vec(0usize..3, 0..4),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            // Frames built from TPIDs, so the walk sees many tag stacks, not just noise.
            let mut bytes = vec![0u8; 12];
            for &t in &tpids {
                bytes.extend_from_slice(&[[0x81, 0x00], [0x88, 0xa8], [0x08, 0x00]][t]);
                bytes.extend_from_slice(&[0x00, 0x05]);
            }
            bytes.extend_from_slice(&tail);
            crate::wire::fuzz::frame(&bytes);
            if let Ok(frame) = Frame::new_checked(&bytes[..])
                && let Ok(walk) = frame.walk_tags() {
                    proptest::prop_assert!(walk.tag_count() <= MAX_TAGS);
                    proptest::prop_assert_eq!(walk.payload_offset, HEADER_LEN + TAG_LEN * walk.tag_count());
                    proptest::prop_assert!(!walk.ethertype.is_vlan_tpid());
                }
        }
    }

    #[test]
    fn ethertype_is_total() {
        for value in [0u16, 0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x9000, 0xffff] {
            assert_eq!(u16::from(EtherType::from(value)), value);
        }
    }
}
