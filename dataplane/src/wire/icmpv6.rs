//! ICMPv6 (RFC 4443): echo request/reply and the error messages, whose quoted IPv6 packet
//! a director needs to find the connection an error is about (packet too big above all:
//! IPv6 routers never fragment, so PMTU discovery depends on it).
//!
//! Unlike ICMPv4 the checksum covers the IPv6 pseudo-header, so verifying and filling it
//! take the addresses. The errors rvs builds quote as much of the offending packet as fits
//! in the IPv6 minimum MTU (1280 bytes), as RFC 4443 section 2.4 (c) asks.

use core::net::Ipv6Addr;

use super::checksum;
use super::ip::IpProtocol;
use super::ipv6::{self, Ipv6Error};
use super::{Field, Rest, read_u16, write_u16};

/// Byte layout of an ICMPv6 message.
pub mod field {
    use super::{Field, Rest};
    /// Message type.
    pub const TYPE: usize = 0;
    /// Message code.
    pub const CODE: usize = 1;
    /// Checksum (with the IPv6 pseudo-header).
    pub const CHECKSUM: Field = 2..4;
    /// Echo identifier.
    pub const ECHO_IDENT: Field = 4..6;
    /// Echo sequence number.
    pub const ECHO_SEQ: Field = 6..8;
    /// MTU of a packet-too-big message; pointer of a parameter problem.
    pub const MTU: Field = 4..8;
    /// Echo data, or the quoted packet of an error.
    pub const DATA: Rest = 8..;
}

/// Length of the ICMPv6 header.
pub const HEADER_LEN: usize = field::DATA.start;
/// Largest quote rvs puts in an error: the minimum MTU minus the IPv6 and ICMPv6 headers.
pub const MAX_QUOTE_LEN: usize = ipv6::MIN_MTU - ipv6::HEADER_LEN - HEADER_LEN;
/// Hop limit of the messages rvs originates.
pub const REPLY_HOP_LIMIT: u8 = 64;
/// Bytes of the quoted upper layer a director needs (ports).
pub const QUOTED_L4_LEN: usize = 8;

/// Why an ICMPv6 message was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Icmpv6Error {
    /// Shorter than the 8-byte header.
    #[error("ICMPv6 message truncated")]
    Truncated,
    /// Checksum does not verify.
    #[error("ICMPv6 checksum mismatch")]
    BadChecksum,
    /// Not an echo request (for the turnaround).
    #[error("ICMPv6 message is not an echo request")]
    NotEchoRequest,
    /// Not an error message (no quoted packet).
    #[error("ICMPv6 message is not an error message")]
    NotErrorMessage,
    /// The quoted IPv6 packet is malformed.
    #[error("ICMPv6 quoted IPv6 packet invalid: {0}")]
    BadEmbeddedHeader(Ipv6Error),
    /// The quote ends before 8 bytes of the upper-layer header.
    #[error("ICMPv6 quote too short for the upper-layer header")]
    EmbeddedTruncated,
    /// The enclosing IPv6 packet is malformed.
    #[error("IPv6 packet around ICMPv6 invalid: {0}")]
    BadIpv6(Ipv6Error),
    /// The enclosing IPv6 packet does not carry ICMPv6 right after its fixed header.
    #[error("IPv6 packet does not carry ICMPv6")]
    NotIcmpv6,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the ICMPv6 message")]
    BufferTooSmall,
}

/// ICMPv6 message type, total over the byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// 1.
    DestUnreachable,
    /// 2.
    PacketTooBig,
    /// 3.
    TimeExceeded,
    /// 4.
    ParamProblem,
    /// 128.
    EchoRequest,
    /// 129.
    EchoReply,
    /// 133.
    RouterSolicit,
    /// 134.
    RouterAdvert,
    /// 135.
    NeighborSolicit,
    /// 136.
    NeighborAdvert,
    /// 137.
    Redirect,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(value: u8) -> Self {
        match value {
            1 => Message::DestUnreachable,
            2 => Message::PacketTooBig,
            3 => Message::TimeExceeded,
            4 => Message::ParamProblem,
            128 => Message::EchoRequest,
            129 => Message::EchoReply,
            133 => Message::RouterSolicit,
            134 => Message::RouterAdvert,
            135 => Message::NeighborSolicit,
            136 => Message::NeighborAdvert,
            137 => Message::Redirect,
            other => Message::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    fn from(value: Message) -> Self {
        match value {
            Message::DestUnreachable => 1,
            Message::PacketTooBig => 2,
            Message::TimeExceeded => 3,
            Message::ParamProblem => 4,
            Message::EchoRequest => 128,
            Message::EchoReply => 129,
            Message::RouterSolicit => 133,
            Message::RouterAdvert => 134,
            Message::NeighborSolicit => 135,
            Message::NeighborAdvert => 136,
            Message::Redirect => 137,
            Message::Unknown(other) => other,
        }
    }
}

impl Message {
    /// True for error messages (types 0-127), which quote the offending packet.
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }
}

/// A view of an ICMPv6 message (exactly the upper-layer payload).
///
/// After [`Packet::new_checked`] every accessor and setter is panic-free: the 8-byte
/// header is there. The checksum needs the addresses: [`Packet::verify_checksum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a message of at least 8 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, Icmpv6Error> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Icmpv6Error::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type.
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number.
    pub fn echo_seq(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ.start)
    }

    /// MTU of a packet-too-big message.
    pub fn mtu(&self) -> u32 {
        super::read_u32(self.buffer.as_ref(), field::MTU.start)
    }

    /// Echo data or the quoted packet.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA]
    }

    fn sum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let buf = self.buffer.as_ref();
        let len = u32::try_from(buf.len()).unwrap_or(0);
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6.into(), len);
        checksum::fold(u64::from(pseudo) + checksum::raw_sum(buf))
    }

    /// True when the checksum verifies with the IPv6 pseudo-header.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.sum(src, dst) == 0xffff
    }

    /// The quoted IPv6 packet of an error message.
    pub fn embedded_ipv6(&self) -> Result<ipv6::Packet<&[u8]>, Icmpv6Error> {
        if !self.msg_type().is_error() {
            return Err(Icmpv6Error::NotErrorMessage);
        }
        ipv6::Packet::new_embedded(self.data()).map_err(Icmpv6Error::BadEmbeddedHeader)
    }

    /// The quoted packet's upper-layer protocol and its first 8 bytes (ports), found by
    /// walking the quoted extension headers.
    pub fn embedded_upper_layer(&self) -> Result<(IpProtocol, &[u8]), Icmpv6Error> {
        let inner = self.embedded_ipv6()?;
        let upper = inner
            .upper_layer()
            .map_err(Icmpv6Error::BadEmbeddedHeader)?;
        let at = HEADER_LEN + upper.offset;
        let l4 = self
            .buffer
            .as_ref()
            .get(at..at + QUOTED_L4_LEN)
            .ok_or(Icmpv6Error::EmbeddedTruncated)?;
        Ok((upper.protocol, l4))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the stored checksum as is.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes the checksum from scratch.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let sum = self.sum(src, dst);
        self.set_checksum(!sum);
    }

    /// Turns an echo request into its reply in place (type 128 -> 129, incremental
    /// checksum update; the pseudo-header does not change when the IPv6 addresses are
    /// swapped).
    pub fn echo_request_to_reply(&mut self) -> Result<(), Icmpv6Error> {
        if self.msg_type() != Message::EchoRequest {
            return Err(Icmpv6Error::NotEchoRequest);
        }
        let code = self.code();
        let old = u16::from_be_bytes([Message::EchoRequest.into(), code]);
        let new = u16::from_be_bytes([Message::EchoReply.into(), code]);
        let sum = checksum::update16(self.checksum(), old, new);
        self.buffer.as_mut()[field::TYPE] = Message::EchoReply.into();
        self.set_checksum(sum);
        Ok(())
    }

    /// The quoted packet, writable; this message's checksum is the caller's to fix.
    pub fn embedded_ipv6_mut(&mut self) -> Result<ipv6::Packet<&mut [u8]>, Icmpv6Error> {
        self.embedded_ipv6()?;
        Ok(ipv6::Packet::new_unchecked(
            &mut self.buffer.as_mut()[field::DATA],
        ))
    }
}

/// Answers an ICMPv6 echo request in place: `ip_packet` starts with the IPv6 header of a
/// request to us (ICMPv6 directly after the fixed header); afterwards it is the reply
/// (addresses swapped, hop limit [`REPLY_HOP_LIMIT`], type echo reply). Returns the
/// packet length.
pub fn reply_to_echo_in_place(ip_packet: &mut [u8]) -> Result<usize, Icmpv6Error> {
    let mut ip = ipv6::Packet::new_checked(&mut *ip_packet).map_err(Icmpv6Error::BadIpv6)?;
    if ip.next_header() != IpProtocol::Icmpv6 {
        return Err(Icmpv6Error::NotIcmpv6);
    }
    let (src, dst) = (ip.src(), ip.dst());
    {
        let mut icmp = Packet::new_checked(ip.payload_mut())?;
        if !icmp.verify_checksum(&src, &dst) {
            return Err(Icmpv6Error::BadChecksum);
        }
        icmp.echo_request_to_reply()?;
    }
    ip.swap_addresses();
    ip.set_hop_limit(REPLY_HOP_LIMIT);
    Ok(ipv6::HEADER_LEN + usize::from(ip.payload_len()))
}

/// Writes an echo request or reply with its checksum. Returns the message length.
pub fn emit_echo(
    buf: &mut [u8],
    message: Message,
    ident: u16,
    seq: u16,
    data: &[u8],
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Result<usize, Icmpv6Error> {
    let len = HEADER_LEN + data.len();
    let out = buf.get_mut(..len).ok_or(Icmpv6Error::BufferTooSmall)?;
    out[field::TYPE] = message.into();
    out[field::CODE] = 0;
    write_u16(out, field::ECHO_IDENT.start, ident);
    write_u16(out, field::ECHO_SEQ.start, seq);
    out[field::DATA].copy_from_slice(data);
    Packet::new_unchecked(out).fill_checksum(src, dst);
    Ok(len)
}

/// The error messages rvs originates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorMessage {
    /// Destination unreachable with its code (0 no route, 1 prohibited, 3 address, 4 port).
    DestUnreachable(u8),
    /// Packet too big, with the MTU of the next hop.
    PacketTooBig {
        /// The largest packet the next hop carries.
        mtu: u32,
    },
    /// Time exceeded (0 hop limit, 1 reassembly).
    TimeExceeded(u8),
}

/// Writes a whole IPv6 packet carrying an ICMPv6 error about `original` (an IPv6 packet):
/// from `src` to the original's source, quoting as much of it as fits in 1280 bytes and
/// in `buf`. Returns the packet length.
pub fn emit_error_packet(
    buf: &mut [u8],
    src: &Ipv6Addr,
    message: ErrorMessage,
    original: &[u8],
) -> Result<usize, Icmpv6Error> {
    let dst = ipv6::Packet::new_embedded(original)
        .map_err(Icmpv6Error::BadEmbeddedHeader)?
        .src();
    let room = buf
        .len()
        .checked_sub(ipv6::HEADER_LEN + HEADER_LEN)
        .ok_or(Icmpv6Error::BufferTooSmall)?;
    let must_quote = (ipv6::HEADER_LEN + QUOTED_L4_LEN).min(original.len());
    if room < must_quote {
        return Err(Icmpv6Error::BufferTooSmall);
    }
    let quote_len = original.len().min(MAX_QUOTE_LEN).min(room);
    let icmp_len = HEADER_LEN + quote_len;
    let (kind, code, rest) = match message {
        ErrorMessage::DestUnreachable(code) => (Message::DestUnreachable, code, 0),
        ErrorMessage::PacketTooBig { mtu } => (Message::PacketTooBig, 0, mtu),
        ErrorMessage::TimeExceeded(code) => (Message::TimeExceeded, code, 0),
    };
    ipv6::Repr {
        src: *src,
        dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp_len,
        hop_limit: REPLY_HOP_LIMIT,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(buf)
    .map_err(|_| Icmpv6Error::BufferTooSmall)?;
    let out = &mut buf[ipv6::HEADER_LEN..ipv6::HEADER_LEN + icmp_len];
    out[field::TYPE] = kind.into();
    out[field::CODE] = code;
    super::write_u32(out, field::MTU.start, rest);
    out[field::DATA].copy_from_slice(&original[..quote_len]);
    Packet::new_unchecked(out).fill_checksum(src, &dst);
    Ok(ipv6::HEADER_LEN + icmp_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::2")/ICMPv6EchoRequest(id=0x4242,
    //        seq=7, data=b"abcdefgh")
    const ECHO_REQUEST: &str = include_str!("testdata/ipv6_echo_request.hex");
    // scapy: the reply: IPv6(src="2001:db8::2", dst="2001:db8::1", hlim=64)
    //        /ICMPv6EchoReply(id=0x4242, seq=7, data=b"abcdefgh")
    const ECHO_REPLY: &str = include_str!("testdata/ipv6_echo_reply.hex");
    // scapy: IPv6(src="2001:db8::fe", dst="2001:db8::1")/ICMPv6PacketTooBig(mtu=1400)
    //        /IPv6(src="2001:db8::1", dst="2001:db8::2")/IPv6ExtHdrDestOpt()
    //        /TCP(sport=40000, dport=443)
    const TOO_BIG: &str = include_str!("testdata/ipv6_packet_too_big.hex");

    fn addr(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    #[test]
    fn parse_echo_and_turn_around() {
        let mut bytes = hex(ECHO_REQUEST);
        {
            let ip = ipv6::Packet::new_checked(&bytes[..]).unwrap();
            let icmp = Packet::new_checked(ip.payload()).unwrap();
            assert!(icmp.verify_checksum(&ip.src(), &ip.dst()));
            assert_eq!(icmp.msg_type(), Message::EchoRequest);
            assert_eq!((icmp.echo_ident(), icmp.echo_seq()), (0x4242, 7));
            assert_eq!(icmp.data(), b"abcdefgh");
            assert_eq!(
                icmp.embedded_ipv6().err(),
                Some(Icmpv6Error::NotErrorMessage)
            );
        }
        bytes[7] = 50; // arrived after some hops
        assert_eq!(reply_to_echo_in_place(&mut bytes), Ok(56));
        assert_eq!(bytes, hex(ECHO_REPLY));
        assert_eq!(
            reply_to_echo_in_place(&mut bytes),
            Err(Icmpv6Error::NotEchoRequest)
        );
        let mut corrupt = hex(ECHO_REQUEST);
        corrupt[50] ^= 0x20;
        assert_eq!(
            reply_to_echo_in_place(&mut corrupt),
            Err(Icmpv6Error::BadChecksum)
        );
    }

    #[test]
    fn parse_packet_too_big() {
        let bytes = hex(TOO_BIG);
        let ip = ipv6::Packet::new_checked(&bytes[..]).unwrap();
        let icmp = Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum(&ip.src(), &ip.dst()));
        assert_eq!(icmp.msg_type(), Message::PacketTooBig);
        assert_eq!(icmp.mtu(), 1400);
        let inner = icmp.embedded_ipv6().unwrap();
        assert_eq!(inner.src(), addr("2001:db8::1"));
        assert_eq!(inner.dst(), addr("2001:db8::2"));
        let (protocol, l4) = icmp.embedded_upper_layer().unwrap();
        assert_eq!(protocol, IpProtocol::Tcp);
        assert_eq!(&l4[..4], &[0x9c, 0x40, 0x01, 0xbb]);
    }

    #[test]
    fn embedded_refusals() {
        let bytes = hex(TOO_BIG);
        let icmp_bytes = &bytes[40..];
        // Cut inside the quoted TCP header.
        let icmp = Packet::new_checked(&icmp_bytes[..8 + 40 + 8 + 4]).unwrap();
        assert_eq!(
            icmp.embedded_upper_layer().err(),
            Some(Icmpv6Error::EmbeddedTruncated)
        );
        // Cut inside the destination-options header.
        let icmp = Packet::new_checked(&icmp_bytes[..8 + 40 + 4]).unwrap();
        assert_eq!(
            icmp.embedded_upper_layer().err(),
            Some(Icmpv6Error::BadEmbeddedHeader(
                Ipv6Error::ExtensionTruncated
            ))
        );
        assert_eq!(
            Packet::new_checked(&icmp_bytes[..7]),
            Err(Icmpv6Error::Truncated)
        );
    }

    #[test]
    fn build_packet_too_big() {
        let original_frame = hex(TOO_BIG);
        let original = &original_frame[48..];
        let mut buf = [0u8; 1400];
        let src = addr("2001:db8::fe");
        let n = emit_error_packet(
            &mut buf,
            &src,
            ErrorMessage::PacketTooBig { mtu: 1400 },
            original,
        )
        .unwrap();
        // Same as the capture except the hop limit (scapy's default 64 = ours).
        assert_eq!(&buf[..n], &original_frame[..]);
        assert_eq!(
            emit_error_packet(
                &mut buf[..90],
                &src,
                ErrorMessage::TimeExceeded(0),
                original
            ),
            Err(Icmpv6Error::BufferTooSmall)
        );
        // Long originals are cut at 1280 bytes in all.
        let mut long = original.to_vec();
        long.resize(2000, 0x55);
        let mut big = [0u8; 3000];
        let n = emit_error_packet(&mut big, &src, ErrorMessage::DestUnreachable(4), &long).unwrap();
        assert_eq!(n, ipv6::MIN_MTU);
    }

    #[test]
    fn message_types_are_total() {
        for value in 0..=u8::MAX {
            assert_eq!(u8::from(Message::from(value)), value);
            assert_eq!(Message::from(value).is_error(), value < 128);
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            crate::wire::fuzz::icmpv6(&bytes);
        }

        #[test]
        fn echo_round_trip(ident in any::<u16>(), seq in any::<u16>(),
                           data in proptest::collection::vec(any::<u8>(), 0..48)) {
            let (src, dst) = (addr("2001:db8::1"), addr("fe80::1"));
            let mut packet = vec![0u8; 40 + 8 + data.len()];
            let n = emit_echo(&mut packet[40..], Message::EchoRequest, ident, seq, &data, &src, &dst).unwrap();
            ipv6::Repr { src, dst, next_header: IpProtocol::Icmpv6, payload_len: n, hop_limit: 9,
                         traffic_class: 0, flow_label: 0 }.emit(&mut packet).unwrap();
            prop_assert_eq!(reply_to_echo_in_place(&mut packet), Ok(packet.len()));
            let ip = ipv6::Packet::new_checked(&packet[..]).unwrap();
            let icmp = Packet::new_checked(ip.payload()).unwrap();
            prop_assert!(icmp.verify_checksum(&ip.src(), &ip.dst()));
            prop_assert_eq!(icmp.msg_type(), Message::EchoReply);
            prop_assert_eq!(icmp.data(), &data[..]);
        }
    }
}
