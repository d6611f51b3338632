//! ARP for IPv4 over Ethernet (RFC 826): the view, the in-place request→reply turnaround,
//! and builders for requests, replies and gratuitous announcements.
//!
//! Only the Ethernet/IPv4 combination is accepted (hardware type 1, protocol 0x0800,
//! address lengths 6 and 4): it is the only one a director meets, and fixing the lengths
//! makes every field offset a constant.
//!
//! The gratuitous ARP this module builds is the one keepalived sends when it becomes
//! MASTER: a broadcast *request* whose sender and target IP are both the VIP and whose
//! target hardware address is ff:ff:ff:ff:ff:ff; neighbours that already have the VIP in
//! their cache update it, and neighbours that do not ignore it.

use core::net::Ipv4Addr;

use super::ethernet::{self, EtherType, MacAddr};
use super::{Field, read_array, read_u16, write_u16};

/// Byte layout of an Ethernet/IPv4 ARP packet.
pub mod field {
    use super::Field;
    /// Hardware type (1 = Ethernet).
    pub const HTYPE: Field = 0..2;
    /// Protocol type (0x0800 = IPv4).
    pub const PTYPE: Field = 2..4;
    /// Hardware address length.
    pub const HLEN: usize = 4;
    /// Protocol address length.
    pub const PLEN: usize = 5;
    /// Operation.
    pub const OPER: Field = 6..8;
    /// Sender hardware address.
    pub const SHA: Field = 8..14;
    /// Sender protocol address.
    pub const SPA: Field = 14..18;
    /// Target hardware address.
    pub const THA: Field = 18..24;
    /// Target protocol address.
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = field::TPA.end;
/// Length of an Ethernet frame carrying one (before padding to 60 bytes).
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + PACKET_LEN;

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

/// Why an ARP packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ArpError {
    /// Shorter than 28 bytes.
    #[error("ARP packet truncated")]
    Truncated,
    /// Hardware type other than Ethernet.
    #[error("ARP hardware type is not Ethernet")]
    UnsupportedHardware,
    /// Protocol type other than IPv4.
    #[error("ARP protocol type is not IPv4")]
    UnsupportedProtocol,
    /// Address lengths other than 6 and 4.
    #[error("ARP address lengths are not 6 and 4")]
    BadAddressLength,
    /// The packet is not a request (for the turnaround).
    #[error("ARP packet is not a request")]
    NotRequest,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for an ARP packet")]
    BufferTooSmall,
}

/// The ARP operation, total over the 16-bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1.
    Request,
    /// 2.
    Reply,
    /// Anything else (RARP and InARP codes included).
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(value: u16) -> Self {
        match value {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(value: Operation) -> Self {
        match value {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(other) => other,
        }
    }
}

/// A view of an Ethernet/IPv4 ARP packet (the Ethernet payload).
///
/// After [`Packet::new_checked`] every accessor and setter is panic-free: the buffer holds
/// at least 28 bytes and the address lengths are the fixed 6 and 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than [`PACKET_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer holding an Ethernet/IPv4 ARP packet (trailing padding allowed).
    pub fn new_checked(buffer: T) -> Result<Self, ArpError> {
        let buf = buffer.as_ref();
        if buf.len() < PACKET_LEN {
            return Err(ArpError::Truncated);
        }
        if read_u16(buf, field::HTYPE.start) != HTYPE_ETHERNET {
            return Err(ArpError::UnsupportedHardware);
        }
        if read_u16(buf, field::PTYPE.start) != PTYPE_IPV4 {
            return Err(ArpError::UnsupportedProtocol);
        }
        if buf[field::HLEN] != 6 || buf[field::PLEN] != 4 {
            return Err(ArpError::BadAddressLength);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        Operation::from(read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// Sender hardware address.
    pub fn sender_mac(&self) -> MacAddr {
        MacAddr(read_array(self.buffer.as_ref(), field::SHA.start))
    }

    /// Sender IPv4 address.
    pub fn sender_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SPA.start))
    }

    /// Target hardware address.
    pub fn target_mac(&self) -> MacAddr {
        MacAddr(read_array(self.buffer.as_ref(), field::THA.start))
    }

    /// Target IPv4 address.
    pub fn target_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::TPA.start))
    }

    /// True for an announcement (gratuitous ARP): sender and target IP are the same.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip() == self.target_ip()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the operation.
    pub fn set_operation(&mut self, op: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER.start, op.into());
    }

    /// Sets the sender hardware address.
    pub fn set_sender_mac(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&mac.0);
    }

    /// Sets the sender IPv4 address.
    pub fn set_sender_ip(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&ip.octets());
    }

    /// Sets the target hardware address.
    pub fn set_target_mac(&mut self, mac: MacAddr) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&mac.0);
    }

    /// Sets the target IPv4 address.
    pub fn set_target_ip(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&ip.octets());
    }

    /// Turns a request for one of our addresses into the reply, in place: the requester
    /// becomes the target and `our_mac` answers for the requested IP. The Ethernet header
    /// around it is the caller's (swap its addresses and set the source to `our_mac`).
    pub fn turn_into_reply(&mut self, our_mac: MacAddr) -> Result<(), ArpError> {
        if self.operation() != Operation::Request {
            return Err(ArpError::NotRequest);
        }
        let requester_mac = self.sender_mac();
        let requester_ip = self.sender_ip();
        let asked_ip = self.target_ip();
        self.set_operation(Operation::Reply);
        self.set_sender_mac(our_mac);
        self.set_sender_ip(asked_ip);
        self.set_target_mac(requester_mac);
        self.set_target_ip(requester_ip);
        Ok(())
    }
}

/// The content of an Ethernet/IPv4 ARP packet, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Request or reply.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender IPv4 address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target IPv4 address.
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// "Who has `target_ip`? Tell `sender_ip`": target hardware address zero, as Linux
    /// sends it.
    pub fn request(sender_mac: MacAddr, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Self {
        Repr {
            operation: Operation::Request,
            sender_mac,
            sender_ip,
            target_mac: MacAddr::ZERO,
            target_ip,
        }
    }

    /// "`sender_ip` is at `sender_mac`", addressed to the requester.
    pub fn reply(
        sender_mac: MacAddr,
        sender_ip: Ipv4Addr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
    ) -> Self {
        Repr {
            operation: Operation::Reply,
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        }
    }

    /// The gratuitous ARP keepalived sends for a VIP (see the module doc).
    pub fn gratuitous(mac: MacAddr, ip: Ipv4Addr) -> Self {
        Repr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: ip,
            target_mac: MacAddr::BROADCAST,
            target_ip: ip,
        }
    }

    /// Reads a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Repr {
            operation: packet.operation(),
            sender_mac: packet.sender_mac(),
            sender_ip: packet.sender_ip(),
            target_mac: packet.target_mac(),
            target_ip: packet.target_ip(),
        }
    }

    /// Writes the 28-byte ARP packet; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, ArpError> {
        let out = buf.get_mut(..PACKET_LEN).ok_or(ArpError::BufferTooSmall)?;
        write_u16(out, field::HTYPE.start, HTYPE_ETHERNET);
        write_u16(out, field::PTYPE.start, PTYPE_IPV4);
        out[field::HLEN] = 6;
        out[field::PLEN] = 4;
        let mut packet = Packet::new_unchecked(out);
        packet.set_operation(self.operation);
        packet.set_sender_mac(self.sender_mac);
        packet.set_sender_ip(self.sender_ip);
        packet.set_target_mac(self.target_mac);
        packet.set_target_ip(self.target_ip);
        Ok(PACKET_LEN)
    }

    /// Writes the whole Ethernet frame (42 bytes, unpadded): requests go to broadcast,
    /// replies to the target hardware address; the source is the sender hardware address.
    pub fn emit_frame(&self, buf: &mut [u8]) -> Result<usize, ArpError> {
        let frame = buf.get_mut(..FRAME_LEN).ok_or(ArpError::BufferTooSmall)?;
        let dst = match self.operation {
            Operation::Reply => self.target_mac,
            Operation::Request | Operation::Unknown(_) => MacAddr::BROADCAST,
        };
        let (header, payload) = frame.split_at_mut(ethernet::HEADER_LEN);
        ethernet::emit_header(header, dst, self.sender_mac, EtherType::Arp)
            .map_err(|_| ArpError::BufferTooSmall)?;
        self.emit(payload)?;
        Ok(FRAME_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::Frame;
    use crate::wire::testutil::hex;

    const MAC_A: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);

    // scapy: Ether(dst="ff:ff:ff:ff:ff:ff", src="52:54:00:12:34:56")/ARP(op=1,
    //        hwsrc="52:54:00:12:34:56", psrc="10.0.0.1", pdst="10.0.0.2")
    const REQUEST: &str = "ffffffffffff525400123456 0806
        0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002";

    // scapy: Ether(dst="52:54:00:12:34:56", src="02:00:00:00:00:aa")/ARP(op=2,
    //        hwsrc="02:00:00:00:00:aa", psrc="10.0.0.2", hwdst="52:54:00:12:34:56", pdst="10.0.0.1")
    const REPLY: &str = "525400123456 0200000000aa 0806
        0001 0800 06 04 0002 0200000000aa 0a000002 525400123456 0a000001";

    // scapy: Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:aa")/ARP(op=1,
    //        hwsrc="02:00:00:00:00:aa", psrc="192.168.10.100", hwdst="ff:ff:ff:ff:ff:ff",
    //        pdst="192.168.10.100")  -- keepalived's gratuitous ARP for VIP 192.168.10.100
    const GARP: &str = "ffffffffffff 0200000000aa 0806
        0001 0800 06 04 0001 0200000000aa c0a80a64 ffffffffffff c0a80a64";

    fn arp_of(frame: &[u8]) -> Packet<&[u8]> {
        Packet::new_checked(&frame[ethernet::HEADER_LEN..]).unwrap()
    }

    #[test]
    fn parse_captured_request() {
        let bytes = hex(REQUEST);
        let arp = arp_of(&bytes);
        assert_eq!(arp.operation(), Operation::Request);
        assert_eq!(arp.sender_mac(), MAC_A);
        assert_eq!(arp.sender_ip(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(arp.target_mac(), MacAddr::ZERO);
        assert_eq!(arp.target_ip(), Ipv4Addr::new(10, 0, 0, 2));
        assert!(!arp.is_gratuitous());
    }

    #[test]
    fn builders_match_captures() {
        let mut buf = [0u8; 64];
        let n = Repr::request(
            MAC_A,
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
        )
        .emit_frame(&mut buf)
        .unwrap();
        assert_eq!(&buf[..n], &hex(REQUEST)[..]);

        let n = Repr::reply(
            MAC_B,
            Ipv4Addr::new(10, 0, 0, 2),
            MAC_A,
            Ipv4Addr::new(10, 0, 0, 1),
        )
        .emit_frame(&mut buf)
        .unwrap();
        assert_eq!(&buf[..n], &hex(REPLY)[..]);

        let n = Repr::gratuitous(MAC_B, Ipv4Addr::new(192, 168, 10, 100))
            .emit_frame(&mut buf)
            .unwrap();
        assert_eq!(n, FRAME_LEN);
        assert_eq!(&buf[..n], &hex(GARP)[..]);
        assert!(arp_of(&buf[..n]).is_gratuitous());
    }

    #[test]
    fn turnaround_equals_built_reply() {
        let mut bytes = hex(REQUEST);
        {
            let mut frame = Frame::new_checked(&mut bytes[..]).unwrap();
            frame.swap_addresses();
            frame.set_src(MAC_B);
            frame.set_dst(MAC_A);
        }
        let mut arp = Packet::new_checked(&mut bytes[ethernet::HEADER_LEN..]).unwrap();
        arp.turn_into_reply(MAC_B).unwrap();
        assert_eq!(arp.turn_into_reply(MAC_B), Err(ArpError::NotRequest));
        assert_eq!(bytes, hex(REPLY));
    }

    #[test]
    fn refuses_other_kinds() {
        let good = hex(REQUEST);
        let arp = &good[ethernet::HEADER_LEN..];
        assert_eq!(Packet::new_checked(&arp[..27]), Err(ArpError::Truncated));
        let mut bad = arp.to_vec();
        bad[1] = 6; // IEEE 802
        assert_eq!(
            Packet::new_checked(&bad[..]),
            Err(ArpError::UnsupportedHardware)
        );
        let mut bad = arp.to_vec();
        bad[2] = 0x86;
        bad[3] = 0xdd;
        assert_eq!(
            Packet::new_checked(&bad[..]),
            Err(ArpError::UnsupportedProtocol)
        );
        let mut bad = arp.to_vec();
        bad[5] = 16;
        assert_eq!(
            Packet::new_checked(&bad[..]),
            Err(ArpError::BadAddressLength)
        );
        // Ethernet padding after the packet is fine.
        let mut padded = arp.to_vec();
        padded.extend_from_slice(&[0; 18]);
        assert!(Packet::new_checked(&padded[..]).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            valid_prefix in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = bytes;
            if valid_prefix && bytes.len() >= 6 {
                // Most random bytes fail the fixed header; give half the cases a valid one.
                bytes[..6].copy_from_slice(&[0, 1, 8, 0, 6, 4]);
            }
            crate::wire::fuzz::arp(&bytes);
        }

        #[test]
        fn repr_round_trips(
            op in proptest::prelude::any::<u16>(), sha in proptest::prelude::any::<[u8; 6]>(),
            spa in proptest::prelude::any::<[u8; 4]>(), tha in proptest::prelude::any::<[u8; 6]>(),
            tpa in proptest::prelude::any::<[u8; 4]>(),
        ) {
            let repr = Repr {
                operation: op.into(), sender_mac: MacAddr(sha), sender_ip: spa.into(),
                target_mac: MacAddr(tha), target_ip: tpa.into(),
            };
            let mut buf = [0u8; FRAME_LEN];
            proptest::prop_assert_eq!(repr.emit_frame(&mut buf), Ok(FRAME_LEN));
            let parsed = Repr::parse(&Packet::new_checked(&buf[ethernet::HEADER_LEN..]).unwrap());
            proptest::prop_assert_eq!(parsed, repr);
        }
    }

    #[test]
    fn round_trip_and_small_buffers() {
        let repr = Repr::reply(
            MAC_B,
            Ipv4Addr::new(1, 2, 3, 4),
            MAC_A,
            Ipv4Addr::new(5, 6, 7, 8),
        );
        let mut buf = [0u8; PACKET_LEN];
        assert_eq!(repr.emit(&mut buf), Ok(PACKET_LEN));
        assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), repr);
        assert_eq!(repr.emit(&mut buf[..27]), Err(ArpError::BufferTooSmall));
        assert_eq!(
            repr.emit_frame(&mut [0u8; 41]),
            Err(ArpError::BufferTooSmall)
        );
        assert_eq!(u16::from(Operation::from(9)), 9);
    }
}
