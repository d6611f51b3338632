//! ICMP for IPv4 (RFC 792): echo request/reply, and the error messages a director reads
//! (to forward them to the right connection) or writes (fragmentation needed when an
//! encapsulated packet outgrows the path MTU, time exceeded).
//!
//! An error message quotes the offending packet's IPv4 header and at least the first 8
//! bytes of its payload (the L4 ports); [`Packet::embedded_ipv4`] and
//! [`Packet::embedded_l4`] give access to both, which is what a NAT/FULLNAT director needs
//! to find and rewrite the connection an error is about.
//!
//! The errors rvs builds quote as much of the original packet as fits in a 576-byte
//! datagram, as Linux does (RFC 1812 section 4.3.2.3), and carry TOS 0xc0 (internetwork
//! control) and TTL 64 like Linux's.

use core::net::Ipv4Addr;

use super::checksum;
use super::ip::IpProtocol;
use super::ipv4::{self, Ipv4Error};
use super::{Field, Rest, read_u16, write_u16};

/// Byte layout of an ICMP message.
pub mod field {
    use super::{Field, Rest};
    /// Message type.
    pub const TYPE: usize = 0;
    /// Message code.
    pub const CODE: usize = 1;
    /// Checksum over the whole message.
    pub const CHECKSUM: Field = 2..4;
    /// Echo identifier.
    pub const ECHO_IDENT: Field = 4..6;
    /// Echo sequence number.
    pub const ECHO_SEQ: Field = 6..8;
    /// Next-hop MTU of a fragmentation-needed message (RFC 1191).
    pub const NEXT_HOP_MTU: Field = 6..8;
    /// The second 32-bit word, whose meaning depends on the type.
    pub const REST_OF_HEADER: Field = 4..8;
    /// Echo data, or the quoted packet of an error.
    pub const DATA: Rest = 8..;
}

/// Length of the ICMP header.
pub const HEADER_LEN: usize = field::DATA.start;
/// Largest quote rvs puts in an error: 576 minus the IPv4 and ICMP headers (RFC 1812).
pub const MAX_QUOTE_LEN: usize = 576 - ipv4::HEADER_LEN - HEADER_LEN;
/// TTL of the packets rvs originates (Linux's default `ip_default_ttl`).
pub const REPLY_TTL: u8 = 64;
/// TOS of the errors rvs originates: precedence "internetwork control", as Linux sends.
pub const ERROR_TOS: u8 = 0xc0;
/// Bytes of the quoted packet's payload an error must carry at least (RFC 792).
pub const QUOTED_L4_LEN: usize = 8;

/// Codes of destination-unreachable messages.
pub mod unreachable {
    /// Network unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTOCOL: u8 = 2;
    /// Port unreachable.
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set.
    pub const FRAG_NEEDED: u8 = 4;
    /// Communication administratively prohibited (RFC 1812).
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// Codes of time-exceeded messages.
pub mod time_exceeded {
    /// TTL exceeded in transit.
    pub const TTL: u8 = 0;
    /// Fragment reassembly time exceeded.
    pub const REASSEMBLY: u8 = 1;
}

/// Why an ICMP message was refused, or could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum IcmpError {
    /// Shorter than the 8-byte header.
    #[error("ICMP message truncated")]
    Truncated,
    /// Checksum does not verify.
    #[error("ICMP checksum mismatch")]
    BadChecksum,
    /// The message is not an echo request (for the turnaround).
    #[error("ICMP message is not an echo request")]
    NotEchoRequest,
    /// The message is not an error message (no quoted packet).
    #[error("ICMP message is not an error message")]
    NotErrorMessage,
    /// The quoted IPv4 header is malformed.
    #[error("ICMP quoted IPv4 header invalid: {0}")]
    BadEmbeddedHeader(Ipv4Error),
    /// The quote lacks the first 8 bytes of the L4 header.
    #[error("ICMP quote shorter than IPv4 header plus 8 bytes")]
    EmbeddedTruncated,
    /// The enclosing IPv4 packet is malformed.
    #[error("IPv4 packet around ICMP invalid: {0}")]
    BadIpv4(Ipv4Error),
    /// The enclosing IPv4 packet does not carry ICMP.
    #[error("IPv4 packet does not carry ICMP")]
    NotIcmp,
    /// The enclosing IPv4 packet is a fragment.
    #[error("ICMP message is fragmented")]
    Fragmented,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the ICMP message")]
    BufferTooSmall,
}

/// ICMP message type, total over the byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// 0.
    EchoReply,
    /// 3.
    DestUnreachable,
    /// 4 (deprecated by RFC 6633, still an error message that quotes a packet).
    SourceQuench,
    /// 5.
    Redirect,
    /// 8.
    EchoRequest,
    /// 11.
    TimeExceeded,
    /// 12.
    ParamProblem,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(value: u8) -> Self {
        match value {
            0 => Message::EchoReply,
            3 => Message::DestUnreachable,
            4 => Message::SourceQuench,
            5 => Message::Redirect,
            8 => Message::EchoRequest,
            11 => Message::TimeExceeded,
            12 => Message::ParamProblem,
            other => Message::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    fn from(value: Message) -> Self {
        match value {
            Message::EchoReply => 0,
            Message::DestUnreachable => 3,
            Message::SourceQuench => 4,
            Message::Redirect => 5,
            Message::EchoRequest => 8,
            Message::TimeExceeded => 11,
            Message::ParamProblem => 12,
            Message::Unknown(other) => other,
        }
    }
}

impl Message {
    /// True for the error messages, which quote the packet they are about.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Message::DestUnreachable
                | Message::SourceQuench
                | Message::Redirect
                | Message::TimeExceeded
                | Message::ParamProblem
        )
    }
}

/// A view of an ICMP message (the IPv4 payload).
///
/// After [`Packet::new_checked`] every accessor and setter is panic-free: the 8-byte header
/// is there. Access to a quoted packet is checked separately and returns typed errors.
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

    /// Wraps a whole ICMP message (exactly the IPv4 payload): at least 8 bytes, checksum
    /// verifies.
    pub fn new_checked(buffer: T) -> Result<Self, IcmpError> {
        let buf = buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(IcmpError::Truncated);
        }
        if !checksum::verify(buf) {
            return Err(IcmpError::BadChecksum);
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

    /// True when the checksum verifies over the whole buffer.
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(self.buffer.as_ref())
    }

    /// Echo identifier (meaningful for echo request/reply).
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number (meaningful for echo request/reply).
    pub fn echo_seq(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ.start)
    }

    /// Next-hop MTU (meaningful for destination unreachable, code 4).
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }

    /// Everything after the 8-byte header: echo data or the quoted packet.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA]
    }

    /// The quoted packet's IPv4 header, for an error message whose quote holds the header
    /// and at least 8 bytes of its payload.
    pub fn embedded_ipv4(&self) -> Result<ipv4::Packet<&[u8]>, IcmpError> {
        if !self.msg_type().is_error() {
            return Err(IcmpError::NotErrorMessage);
        }
        let inner =
            ipv4::Packet::new_embedded(self.data()).map_err(IcmpError::BadEmbeddedHeader)?;
        if inner.payload().len() < QUOTED_L4_LEN {
            return Err(IcmpError::EmbeddedTruncated);
        }
        Ok(inner)
    }

    /// The first 8 bytes of the quoted packet's L4 header (ports of TCP/UDP, the whole UDP
    /// header, the echo identifier of ICMP).
    pub fn embedded_l4(&self) -> Result<&[u8], IcmpError> {
        let header_len = self.embedded_ipv4()?.header_len();
        let at = HEADER_LEN + header_len;
        self.buffer
            .as_ref()
            .get(at..at + QUOTED_L4_LEN)
            .ok_or(IcmpError::EmbeddedTruncated)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the stored checksum as is.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes the checksum over the whole buffer from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let value = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(value);
    }

    /// Turns an echo request into its reply in place: only the type changes, and the
    /// checksum is updated incrementally (identifier, sequence and data stay as received).
    pub fn echo_request_to_reply(&mut self) -> Result<(), IcmpError> {
        if self.msg_type() != Message::EchoRequest {
            return Err(IcmpError::NotEchoRequest);
        }
        let code = self.code();
        let old = u16::from_be_bytes([Message::EchoRequest.into(), code]);
        let new = u16::from_be_bytes([Message::EchoReply.into(), code]);
        let mut sum = checksum::update16(self.checksum(), old, new);
        self.buffer.as_mut()[field::TYPE] = Message::EchoReply.into();
        if sum == 0x0000 && self.is_all_zero_but_checksum() {
            // The one message that can be all zero (a reply with identifier, sequence and
            // data all zero): RFC 1624's update yields 0x0000 there, but only 0xffff
            // verifies (see the `checksum` module doc). Checked only in this 1-in-65536 case.
            sum = 0xffff;
        }
        self.set_checksum(sum);
        Ok(())
    }

    fn is_all_zero_but_checksum(&self) -> bool {
        let buf = self.buffer.as_ref();
        buf[..field::CHECKSUM.start]
            .iter()
            .chain(&buf[field::CHECKSUM.end..])
            .all(|&b| b == 0)
    }

    /// The quoted IPv4 header, writable (for rewriting the connection an error is about).
    /// Setters on it keep the *quoted* header's checksum right; this message's checksum is
    /// the caller's to fix afterwards ([`Packet::fill_checksum`]).
    pub fn embedded_ipv4_mut(&mut self) -> Result<ipv4::Packet<&mut [u8]>, IcmpError> {
        // Validate through the read-only path, then re-wrap the same bytes mutably.
        self.embedded_ipv4()?;
        Ok(ipv4::Packet::new_unchecked(
            &mut self.buffer.as_mut()[field::DATA],
        ))
    }

    /// The first 8 bytes of the quoted L4 header, writable.
    pub fn embedded_l4_mut(&mut self) -> Result<&mut [u8], IcmpError> {
        let header_len = self.embedded_ipv4()?.header_len();
        let at = HEADER_LEN + header_len;
        self.buffer
            .as_mut()
            .get_mut(at..at + QUOTED_L4_LEN)
            .ok_or(IcmpError::EmbeddedTruncated)
    }
}

/// Answers an ICMP echo request in place: `ip_packet` starts with the IPv4 header of a
/// request addressed to us; afterwards it is the reply (addresses swapped, TTL
/// [`REPLY_TTL`], type echo reply, both checksums updated incrementally). Returns the IPv4
/// total length. The Ethernet header around it is the caller's.
pub fn reply_to_echo_in_place(ip_packet: &mut [u8]) -> Result<usize, IcmpError> {
    let mut ip = ipv4::Packet::new_checked(&mut *ip_packet).map_err(IcmpError::BadIpv4)?;
    if ip.protocol() != IpProtocol::Icmp {
        return Err(IcmpError::NotIcmp);
    }
    if ip.is_fragment() {
        return Err(IcmpError::Fragmented);
    }
    {
        let mut icmp = Packet::new_checked(ip.payload_mut())?;
        icmp.echo_request_to_reply()?;
    }
    ip.swap_addresses();
    ip.set_ttl(REPLY_TTL);
    Ok(usize::from(ip.total_len()))
}

/// Writes an echo request or reply: header, then `data`. Returns the message length.
pub fn emit_echo(
    buf: &mut [u8],
    message: Message,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Result<usize, IcmpError> {
    let len = HEADER_LEN + data.len();
    let out = buf.get_mut(..len).ok_or(IcmpError::BufferTooSmall)?;
    out[field::TYPE] = message.into();
    out[field::CODE] = 0;
    write_u16(out, field::ECHO_IDENT.start, ident);
    write_u16(out, field::ECHO_SEQ.start, seq);
    out[field::DATA].copy_from_slice(data);
    Packet::new_unchecked(out).fill_checksum();
    Ok(len)
}

/// The error messages rvs originates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorMessage {
    /// Destination unreachable with a code from [`mod@unreachable`] (not frag-needed).
    DestUnreachable(u8),
    /// Fragmentation needed and DF set, with the MTU of the next hop (RFC 1191).
    FragNeeded {
        /// The largest datagram the next hop carries.
        next_hop_mtu: u16,
    },
    /// Time exceeded with a code from [`time_exceeded`].
    TimeExceeded(u8),
}

impl ErrorMessage {
    fn header(self) -> (Message, u8, [u8; 4]) {
        match self {
            ErrorMessage::DestUnreachable(code) => (Message::DestUnreachable, code, [0; 4]),
            ErrorMessage::FragNeeded { next_hop_mtu } => {
                let [hi, lo] = next_hop_mtu.to_be_bytes();
                (
                    Message::DestUnreachable,
                    unreachable::FRAG_NEEDED,
                    [0, 0, hi, lo],
                )
            }
            ErrorMessage::TimeExceeded(code) => (Message::TimeExceeded, code, [0; 4]),
        }
    }
}

/// True when RFC 1122 (3.2.2) and RFC 1812 (4.3.2.7) allow an ICMP error about
/// `original` (an IPv4 packet): not about an ICMP error, a non-first fragment, or a packet
/// from or to a broadcast/multicast/unspecified address.
pub fn error_allowed_for(original: &[u8]) -> bool {
    let Ok(ip) = ipv4::Packet::new_embedded(original) else {
        return false;
    };
    if ip.fragment_offset() != 0 {
        return false;
    }
    let src = ip.src();
    let dst = ip.dst();
    if src.is_unspecified() || src.is_broadcast() || src.is_multicast() {
        return false;
    }
    if dst.is_broadcast() || dst.is_multicast() {
        return false;
    }
    if ip.protocol() == IpProtocol::Icmp {
        // An error about an error is forbidden; about an echo (or a truncated message) fine.
        let is_error = ip
            .payload()
            .first()
            .is_some_and(|&kind| Message::from(kind).is_error());
        return !is_error;
    }
    true
}

/// Writes an ICMP error message quoting `original` (the offending IPv4 packet, from its
/// header on): as much as fits in [`MAX_QUOTE_LEN`] and in `buf`, but never less than the
/// original's header plus 8 bytes (or all of it, if shorter). Returns the message length.
pub fn emit_error(
    buf: &mut [u8],
    message: ErrorMessage,
    original: &[u8],
) -> Result<usize, IcmpError> {
    let room = buf
        .len()
        .checked_sub(HEADER_LEN)
        .ok_or(IcmpError::BufferTooSmall)?;
    let must_quote = ipv4::Packet::new_embedded(original)
        .map(|ip| ip.header_len() + QUOTED_L4_LEN)
        .unwrap_or(ipv4::HEADER_LEN + QUOTED_L4_LEN)
        .min(original.len());
    if room < must_quote {
        return Err(IcmpError::BufferTooSmall);
    }
    let quote_len = original.len().min(MAX_QUOTE_LEN).min(room);
    let len = HEADER_LEN + quote_len;
    let out = &mut buf[..len];
    let (kind, code, rest) = message.header();
    out[field::TYPE] = kind.into();
    out[field::CODE] = code;
    out[field::REST_OF_HEADER].copy_from_slice(&rest);
    out[field::DATA].copy_from_slice(&original[..quote_len]);
    Packet::new_unchecked(out).fill_checksum();
    Ok(len)
}

/// Writes a whole IPv4 packet carrying an ICMP error about `original`: from `src` to the
/// original's source, TOS [`ERROR_TOS`], TTL [`REPLY_TTL`], identification `ident`.
/// Returns the IPv4 total length. The caller decides first whether an error is allowed
/// ([`error_allowed_for`]).
pub fn emit_error_packet(
    buf: &mut [u8],
    src: Ipv4Addr,
    ident: u16,
    message: ErrorMessage,
    original: &[u8],
) -> Result<usize, IcmpError> {
    let dst = ipv4::Packet::new_embedded(original)
        .map_err(IcmpError::BadEmbeddedHeader)?
        .src();
    let (header, rest) = buf
        .split_at_mut_checked(ipv4::HEADER_LEN)
        .ok_or(IcmpError::BufferTooSmall)?;
    let icmp_len = emit_error(rest, message, original)?;
    ipv4::Repr {
        src,
        dst,
        protocol: IpProtocol::Icmp,
        payload_len: icmp_len,
        ttl: REPLY_TTL,
        tos: ERROR_TOS,
        ident,
        dont_frag: false,
    }
    .emit(header)
    .map_err(IcmpError::BadIpv4)?;
    Ok(ipv4::HEADER_LEN + icmp_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use proptest::prelude::*;

    // scapy: IP(src="10.0.0.1", dst="10.0.0.2", id=1, ttl=64)
    //        /ICMP(type=8, id=0x4242, seq=7)/Raw(b"abcdefgh")
    const ECHO_REQUEST: &str = "4500 0024 0001 0000 4001 66d6 0a000001 0a000002
        08 00 2421 4242 0007 6162636465666768";

    // scapy: the reply Linux would send (addresses swapped, TTL 64, type 0):
    //        IP(src="10.0.0.2", dst="10.0.0.1", id=1, ttl=64)/ICMP(type=0, id=0x4242, seq=7)/...
    const ECHO_REPLY: &str = "4500 0024 0001 0000 4001 66d6 0a000002 0a000001
        00 00 2c21 4242 0007 6162636465666768";

    // scapy: IP(src="203.0.113.1", dst="192.0.2.10", ttl=64, id=0)
    //        /ICMP(type=3, code=4, nexthopmtu=1400)/<first 28 bytes of
    //        IP(src="192.0.2.10", dst="198.51.100.20", id=0x1234, flags="DF", ttl=63)
    //        /TCP(sport=40000, dport=80, flags="PA", seq=1000)/Raw(b"z"*1460)>
    const FRAG_NEEDED: &str = "4500 0038 0000 0000 4001 7cb9 cb007101 c000020a
        03 04 570b 0000 0578
        4500 05dc 1234 4000 3f06 3796 c000020a c6336414 9c40 0050 000003e8";

    // scapy: IP(src="203.0.113.1", dst="192.0.2.10", ttl=64, id=0)/ICMP(type=11, code=0)
    //        /<first 28 bytes of IP(src="192.0.2.10", dst="198.51.100.20", ttl=1)
    //        /UDP(sport=33434, dport=33435)/Raw(b"0123")>
    const TIME_EXCEEDED: &str = "4500 0038 0000 0000 4001 7cb9 cb007101 c000020a
        0b 00 43d4 00000000
        4500 0020 0001 0000 0111 cd7a c000020a c6336414 829a 829b 000c abe9";

    fn icmp_of(ip_bytes: &[u8]) -> Packet<&[u8]> {
        let ip = ipv4::Packet::new_checked(ip_bytes).unwrap();
        let payload = &ip_bytes[ip.header_len()..usize::from(ip.total_len())];
        Packet::new_checked(payload).unwrap()
    }

    #[test]
    fn parse_echo_request() {
        let bytes = hex(ECHO_REQUEST);
        let icmp = icmp_of(&bytes);
        assert_eq!(icmp.msg_type(), Message::EchoRequest);
        assert_eq!(icmp.code(), 0);
        assert_eq!(icmp.echo_ident(), 0x4242);
        assert_eq!(icmp.echo_seq(), 7);
        assert_eq!(icmp.data(), b"abcdefgh");
        assert_eq!(icmp.embedded_ipv4().err(), Some(IcmpError::NotErrorMessage));
    }

    #[test]
    fn echo_turnaround_matches_capture() {
        let mut bytes = hex(ECHO_REQUEST);
        bytes[8] = 57; // arrived after a few hops; the reply starts again at 64
        let sum = ipv4::Packet::new_unchecked(&mut bytes[..]);
        let mut sum = sum;
        sum.fill_checksum();
        assert_eq!(reply_to_echo_in_place(&mut bytes), Ok(36));
        assert_eq!(bytes, hex(ECHO_REPLY));
        assert_eq!(
            reply_to_echo_in_place(&mut bytes),
            Err(IcmpError::NotEchoRequest)
        );
    }

    #[test]
    fn all_zero_echo_reply_gets_ffff() {
        // Found by the fuzz body: request with ident 0, seq 0, no data. The reply is all
        // zero but for the checksum, which must be 0xffff for a receiver to accept it.
        let mut message = hex("0800 f7ff 0000 0000");
        let mut icmp = Packet::new_checked(&mut message[..]).unwrap();
        icmp.echo_request_to_reply().unwrap();
        assert_eq!(message, hex("0000 ffff 0000 0000"));
        assert!(checksum::verify(&message));
        // Same data except one non-zero data byte: ordinary incremental result.
        let mut message = hex("0800 f7fe 0000 0000 0001");
        let mut icmp = Packet::new_checked(&mut message[..]).unwrap();
        icmp.echo_request_to_reply().unwrap();
        assert_eq!(message, hex("0000 fffe 0000 0000 0001"));
    }

    #[test]
    fn echo_turnaround_refusals() {
        let mut bytes = hex(ECHO_REQUEST);
        bytes[30] ^= 1; // corrupt the ICMP data
        assert_eq!(
            reply_to_echo_in_place(&mut bytes),
            Err(IcmpError::BadChecksum)
        );
        let mut bytes = hex(ECHO_REQUEST);
        bytes[10] ^= 1;
        assert_eq!(
            reply_to_echo_in_place(&mut bytes),
            Err(IcmpError::BadIpv4(Ipv4Error::BadChecksum))
        );
        let mut bytes = hex(ECHO_REQUEST);
        {
            let mut ip = ipv4::Packet::new_checked(&mut bytes[..]).unwrap();
            ip.set_protocol(IpProtocol::Udp);
        }
        assert_eq!(reply_to_echo_in_place(&mut bytes), Err(IcmpError::NotIcmp));
        let mut bytes = hex(ECHO_REQUEST);
        bytes[6] = 0x20; // MF
        ipv4::Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        assert_eq!(
            reply_to_echo_in_place(&mut bytes),
            Err(IcmpError::Fragmented)
        );
        let mut bytes = hex(ECHO_REQUEST);
        bytes[2..4].copy_from_slice(&27u16.to_be_bytes()); // 7 ICMP bytes
        ipv4::Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        assert_eq!(
            reply_to_echo_in_place(&mut bytes),
            Err(IcmpError::Truncated)
        );
    }

    #[test]
    fn parse_frag_needed_and_embedded() {
        let bytes = hex(FRAG_NEEDED);
        let icmp = icmp_of(&bytes);
        assert_eq!(icmp.msg_type(), Message::DestUnreachable);
        assert_eq!(icmp.code(), unreachable::FRAG_NEEDED);
        assert_eq!(icmp.next_hop_mtu(), 1400);
        let inner = icmp.embedded_ipv4().unwrap();
        assert_eq!(inner.src(), Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(inner.dst(), Ipv4Addr::new(198, 51, 100, 20));
        assert_eq!(inner.total_len(), 1500);
        assert_eq!(inner.protocol(), IpProtocol::Tcp);
        assert!(inner.verify_checksum());
        let l4 = icmp.embedded_l4().unwrap();
        assert_eq!(l4, &hex("9c40 0050 000003e8")[..]);
    }

    #[test]
    fn parse_time_exceeded() {
        let bytes = hex(TIME_EXCEEDED);
        let icmp = icmp_of(&bytes);
        assert_eq!(icmp.msg_type(), Message::TimeExceeded);
        assert_eq!(icmp.code(), time_exceeded::TTL);
        let inner = icmp.embedded_ipv4().unwrap();
        assert_eq!(inner.protocol(), IpProtocol::Udp);
        assert_eq!(inner.ttl(), 1);
        assert_eq!(icmp.embedded_l4().unwrap(), &hex("829a 829b 000c abe9")[..]);
    }

    #[test]
    fn embedded_refusals() {
        let bytes = hex(FRAG_NEEDED);
        let icmp_bytes = &bytes[20..];
        // Quote cut inside the L4 header.
        let mut short = icmp_bytes[..8 + 20 + 4].to_vec();
        Packet::new_unchecked(&mut short[..]).fill_checksum();
        let icmp = Packet::new_checked(&short[..]).unwrap();
        assert_eq!(
            icmp.embedded_ipv4().err(),
            Some(IcmpError::EmbeddedTruncated)
        );
        assert_eq!(icmp.embedded_l4().err(), Some(IcmpError::EmbeddedTruncated));
        // Quote that is not IPv4.
        let mut bad = icmp_bytes.to_vec();
        bad[8] = 0x60;
        Packet::new_unchecked(&mut bad[..]).fill_checksum();
        let icmp = Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(
            icmp.embedded_ipv4().err(),
            Some(IcmpError::BadEmbeddedHeader(Ipv4Error::BadVersion))
        );
        assert_eq!(
            Packet::new_checked(&icmp_bytes[..7]),
            Err(IcmpError::Truncated)
        );
    }

    #[test]
    fn rewrite_embedded_for_nat() {
        // A FULLNAT director maps the quoted destination back to the VIP; both checksums
        // must come out right.
        let mut bytes = hex(FRAG_NEEDED);
        let mut icmp = Packet::new_checked(&mut bytes[20..]).unwrap();
        {
            let mut inner = icmp.embedded_ipv4_mut().unwrap();
            inner.set_dst(Ipv4Addr::new(10, 99, 0, 1));
            assert!(inner.verify_checksum());
        }
        icmp.embedded_l4_mut().unwrap()[2..4].copy_from_slice(&8080u16.to_be_bytes());
        assert!(!icmp.verify_checksum());
        icmp.fill_checksum();
        let icmp = icmp_of(&bytes);
        assert_eq!(
            icmp.embedded_ipv4().unwrap().dst(),
            Ipv4Addr::new(10, 99, 0, 1)
        );
        assert_eq!(&icmp.embedded_l4().unwrap()[2..4], &[0x1f, 0x90]);
    }

    #[test]
    fn build_frag_needed_matches_capture() {
        let original = {
            let mut p = hex(FRAG_NEEDED)[28..].to_vec();
            p.resize(1500, b'z');
            p
        };
        // A 28-byte buffer for the quote forces the minimal quote, like the capture.
        let mut buf = [0u8; 20 + 8 + 28];
        let n = emit_error_packet(
            &mut buf,
            Ipv4Addr::new(203, 0, 113, 1),
            0,
            ErrorMessage::FragNeeded { next_hop_mtu: 1400 },
            &original,
        )
        .unwrap();
        assert_eq!(n, 56);
        let mut expected = hex(FRAG_NEEDED);
        // The capture has TOS 0; rvs sends 0xc0 like Linux. Patch and re-seal the header.
        expected[1] = ERROR_TOS;
        ipv4::Packet::new_unchecked(&mut expected[..]).fill_checksum();
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn build_error_quotes_up_to_576() {
        let mut original = hex(FRAG_NEEDED)[28..].to_vec();
        original.resize(1500, b'z');
        let mut buf = [0u8; 2000];
        let n = emit_error_packet(
            &mut buf,
            Ipv4Addr::new(203, 0, 113, 1),
            7,
            ErrorMessage::TimeExceeded(time_exceeded::TTL),
            &original,
        )
        .unwrap();
        assert_eq!(n, 576);
        let ip = ipv4::Packet::new_checked(&buf[..n]).unwrap();
        assert_eq!(ip.dst(), Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!((ip.ttl(), ip.tos(), ip.ident()), (REPLY_TTL, ERROR_TOS, 7));
        let icmp = Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(icmp.msg_type(), Message::TimeExceeded);
        assert_eq!(icmp.data(), &original[..MAX_QUOTE_LEN]);

        // Too small for header + 8 bytes of the quote.
        assert_eq!(
            emit_error(
                &mut buf[..8 + 27],
                ErrorMessage::DestUnreachable(3),
                &original
            ),
            Err(IcmpError::BufferTooSmall)
        );
        assert_eq!(
            emit_error(&mut buf[..7], ErrorMessage::DestUnreachable(3), &original),
            Err(IcmpError::BufferTooSmall)
        );
        // A short original is quoted whole.
        assert_eq!(
            emit_error(&mut buf, ErrorMessage::DestUnreachable(3), &original[..24]),
            Ok(32)
        );
    }

    #[test]
    fn error_policy() {
        let mut original = hex(FRAG_NEEDED)[28..].to_vec();
        original.resize(1500, b'z');
        assert!(error_allowed_for(&original));
        // About an ICMP error: never.
        assert!(!error_allowed_for(&hex(TIME_EXCEEDED)));
        // About an echo request: fine.
        assert!(error_allowed_for(&hex(ECHO_REQUEST)));
        // Non-first fragment.
        let mut frag = original.clone();
        frag[7] = 0x10;
        assert!(!error_allowed_for(&frag));
        // Broadcast destination, multicast source.
        let mut bcast = original.clone();
        bcast[16..20].copy_from_slice(&[255; 4]);
        assert!(!error_allowed_for(&bcast));
        let mut mcast = original.clone();
        mcast[12] = 224;
        assert!(!error_allowed_for(&mcast));
        assert!(!error_allowed_for(&[0x45]));
    }

    #[test]
    fn echo_builder_round_trip() {
        let mut buf = [0u8; 16];
        let n = emit_echo(&mut buf, Message::EchoRequest, 0x4242, 7, b"abcdefgh").unwrap();
        assert_eq!(&buf[..n], &hex(ECHO_REQUEST)[20..]);
        assert_eq!(
            emit_echo(&mut buf, Message::EchoRequest, 1, 1, &[0; 9]),
            Err(IcmpError::BufferTooSmall)
        );
    }

    #[test]
    fn message_types_are_total() {
        for value in 0..=u8::MAX {
            assert_eq!(u8::from(Message::from(value)), value);
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            crate::wire::fuzz::icmp(&bytes);
        }

        #[test]
        fn turnaround_keeps_checksums(ident in any::<u16>(), seq in any::<u16>(),
                                      data in proptest::collection::vec(any::<u8>(), 0..64),
                                      ttl in 1u8..=255) {
            let mut packet = vec![0u8; 20 + 8 + data.len()];
            let n = emit_echo(&mut packet[20..], Message::EchoRequest, ident, seq, &data).unwrap();
            ipv4::Repr {
                src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 0, 2),
                protocol: IpProtocol::Icmp, payload_len: n, ttl, tos: 0, ident: 0,
                dont_frag: false,
            }.emit(&mut packet).unwrap();
            prop_assert_eq!(reply_to_echo_in_place(&mut packet), Ok(packet.len()));
            let ip = ipv4::Packet::new_checked(&packet[..]).unwrap();
            let icmp = Packet::new_checked(ip.payload()).unwrap();
            prop_assert_eq!(icmp.msg_type(), Message::EchoReply);
            prop_assert_eq!((icmp.echo_ident(), icmp.echo_seq()), (ident, seq));
            prop_assert_eq!(icmp.data(), &data[..]);
        }
    }
}
