//! TCP segments (RFC 9293): the view, options, checksum-keeping rewrites, option insertion
//! (TOA) and MSS clamping.
//!
//! The view wraps exactly one segment — the IP payload, no more — because the checksum
//! covers the whole segment and its length enters the pseudo-header.
//!
//! Rewrites keep the checksum right incrementally (RFC 1624): ports, sequence and
//! acknowledgement numbers (NAT, FULLNAT, SYN proxy), and the pseudo-header when the IP
//! layer changes an address ([`Packet::adjust_checksum_for_ipv4_change`]).
//!
//! [`insert_option`] grows a segment in place — it shifts the payload, raises the data
//! offset and keeps the header 4-byte aligned with NOPs — and refuses with a typed error
//! when the 60-byte header limit or the buffer's room would be exceeded. Because the added
//! bytes are a multiple of 4, the payload keeps its 16-bit alignment and its contribution
//! to the checksum; only the inserted bytes, the data-offset word and the pseudo-header
//! length change, so the update costs the same for a 40-byte and a 9000-byte segment.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::ops::BitOr;

use super::checksum;
use super::ip::IpProtocol;
use super::toa::{self, Toa};
use super::{Field, Rest, ipv4, ipv6, read_u16, write_u16};

/// Byte layout of the TCP header.
pub mod field {
    use super::{Field, Rest};
    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number.
    pub const SEQ: Field = 4..8;
    /// Acknowledgement number.
    pub const ACK: Field = 8..12;
    /// Data offset (4 bits), reserved (3 bits), flags (9 bits).
    pub const OFF_FLAGS: Field = 12..14;
    /// Receive window.
    pub const WINDOW: Field = 14..16;
    /// Checksum.
    pub const CHECKSUM: Field = 16..18;
    /// Urgent pointer.
    pub const URGENT: Field = 18..20;
    /// Options, up to the data offset.
    pub const OPTIONS: Rest = 20..;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::URGENT.end;
/// Length of the longest header (data offset 15).
pub const MAX_HEADER_LEN: usize = 60;

/// Option kinds.
pub mod kind {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No operation (padding).
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMPS: u8 = 8;
    /// TOA (and RFC 6994 experiments), see [`super::toa`].
    pub const TOA: u8 = super::toa::KIND;
}

/// Why a TCP segment was refused, or a rewrite could not be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TcpError {
    /// Shorter than the 20-byte header.
    #[error("TCP header truncated")]
    Truncated,
    /// Data offset below 5.
    #[error("TCP data offset below 20 bytes")]
    BadDataOffset,
    /// Data offset runs past the segment.
    #[error("TCP data offset exceeds the segment")]
    HeaderExceedsSegment,
    /// Checksum does not verify.
    #[error("TCP checksum mismatch")]
    BadChecksum,
    /// An option's length byte is below 2, or wrong for its kind.
    #[error("TCP option length invalid")]
    BadOptionLength,
    /// An option runs past the header (or its length byte is missing).
    #[error("TCP option truncated")]
    OptionTruncated,
    /// Inserting would make the header longer than 60 bytes.
    #[error("TCP header has no room for the option")]
    HeaderFull,
    /// Inserting would run past the buffer's room.
    #[error("packet buffer has no room for the option")]
    NoRoom,
    /// The IP packet around the segment is malformed or not TCP.
    #[error("IP packet does not carry a TCP segment")]
    NotTcp,
    /// The IP packet is a fragment: its TCP header may be elsewhere.
    #[error("IP packet is a fragment")]
    Fragmented,
    /// A buffer given to a builder is too small.
    #[error("buffer too small for the TCP header")]
    BufferTooSmall,
}

/// The nine TCP flags, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x002);
    /// Reset.
    pub const RST: Flags = Flags(0x004);
    /// Push.
    pub const PSH: Flags = Flags(0x008);
    /// Acknowledgement field significant.
    pub const ACK: Flags = Flags(0x010);
    /// Urgent pointer significant.
    pub const URG: Flags = Flags(0x020);
    /// ECN echo.
    pub const ECE: Flags = Flags(0x040);
    /// Congestion window reduced.
    pub const CWR: Flags = Flags(0x080);
    /// ECN nonce (historic, RFC 3540).
    pub const NS: Flags = Flags(0x100);

    /// True when every flag of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// SYN set.
    pub fn syn(self) -> bool {
        self.contains(Flags::SYN)
    }

    /// ACK set.
    pub fn ack(self) -> bool {
        self.contains(Flags::ACK)
    }

    /// FIN set.
    pub fn fin(self) -> bool {
        self.contains(Flags::FIN)
    }

    /// RST set.
    pub fn rst(self) -> bool {
        self.contains(Flags::RST)
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// One parsed TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Padding.
    Nop,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift count.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks (1 to 4 left/right edge pairs).
    Sack(SackBlocks<'a>),
    /// Timestamps.
    Timestamps {
        /// TSval.
        value: u32,
        /// TSecr.
        echo: u32,
    },
    /// A client address inserted by a FULLNAT director.
    Toa(Toa),
    /// Any other kind (including kind 254 of other lengths).
    Unknown {
        /// Option kind.
        kind: u8,
        /// Data after kind and length.
        data: &'a [u8],
    },
}

/// The blocks of a SACK option, as `(left edge, right edge)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SackBlocks<'a> {
    data: &'a [u8],
}

impl Iterator for SackBlocks<'_> {
    type Item = (u32, u32);

    fn next(&mut self) -> Option<(u32, u32)> {
        let (block, rest) = self.data.split_first_chunk::<8>()?;
        self.data = rest;
        let [a, b, c, d, e, f, g, h] = *block;
        Some((
            u32::from_be_bytes([a, b, c, d]),
            u32::from_be_bytes([e, f, g, h]),
        ))
    }
}

/// An option as found in the header: kind, offset from the start of the TCP header, data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawOption<'a> {
    kind: u8,
    offset: usize,
    data: &'a [u8],
}

/// Walks the option bytes; stops at EOL, yields one error and stops on a malformed length.
#[derive(Debug, Clone)]
struct RawOptionIter<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for RawOptionIter<'a> {
    type Item = Result<RawOption<'a>, TcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after_kind) = self.rest.split_first()?;
        let offset = self.offset;
        if kind == kind::EOL {
            self.rest = &[];
            return None;
        }
        if kind == kind::NOP {
            self.rest = after_kind;
            self.offset += 1;
            return Some(Ok(RawOption {
                kind,
                offset,
                data: &[],
            }));
        }
        let Some(&len) = after_kind.first() else {
            self.rest = &[];
            return Some(Err(TcpError::OptionTruncated));
        };
        let len = usize::from(len);
        if len < 2 {
            self.rest = &[];
            return Some(Err(TcpError::BadOptionLength));
        }
        let Some(option) = self.rest.get(..len) else {
            self.rest = &[];
            return Some(Err(TcpError::OptionTruncated));
        };
        self.rest = &self.rest[len..];
        self.offset += len;
        Some(Ok(RawOption {
            kind,
            offset,
            data: &option[2..],
        }))
    }
}

impl<'a> RawOption<'a> {
    /// Interprets the option by kind, checking the length each kind requires.
    fn parse(self) -> Result<TcpOption<'a>, TcpError> {
        let data = self.data;
        let option = match self.kind {
            kind::NOP => TcpOption::Nop,
            kind::MSS => match *data {
                [hi, lo] => TcpOption::Mss(u16::from_be_bytes([hi, lo])),
                _ => return Err(TcpError::BadOptionLength),
            },
            kind::WINDOW_SCALE => match *data {
                [shift] => TcpOption::WindowScale(shift),
                _ => return Err(TcpError::BadOptionLength),
            },
            kind::SACK_PERMITTED if data.is_empty() => TcpOption::SackPermitted,
            kind::SACK_PERMITTED => return Err(TcpError::BadOptionLength),
            kind::SACK if !data.is_empty() && data.len() <= 32 && data.len().is_multiple_of(8) => {
                TcpOption::Sack(SackBlocks { data })
            }
            kind::SACK => return Err(TcpError::BadOptionLength),
            kind::TIMESTAMPS => match *data {
                [a, b, c, d, e, f, g, h] => TcpOption::Timestamps {
                    value: u32::from_be_bytes([a, b, c, d]),
                    echo: u32::from_be_bytes([e, f, g, h]),
                },
                _ => return Err(TcpError::BadOptionLength),
            },
            kind::TOA => match Toa::parse(data) {
                Some(toa) => TcpOption::Toa(toa),
                None => TcpOption::Unknown {
                    kind: self.kind,
                    data,
                },
            },
            other => TcpOption::Unknown { kind: other, data },
        };
        Ok(option)
    }
}

/// Iterator over the options of a header: stops at End-of-Option-List; a malformed
/// option yields one error and ends the iteration.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    raw: RawOptionIter<'a>,
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<TcpOption<'a>, TcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.raw.next()?.and_then(RawOption::parse);
        if item.is_err() {
            self.raw.rest = &[];
        }
        Some(item)
    }
}

/// A view of a TCP segment (exactly the IP payload).
///
/// After [`Packet::new_checked`] every accessor and setter is panic-free: the header is
/// there, data offset included. Options are checked as they are iterated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    /// Accessors panic if the buffer is shorter than the header its data offset claims.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a segment: at least 20 bytes, data offset >= 5 and within the segment. The
    /// checksum needs the IP addresses: verify it with [`Packet::verify_checksum_v4`] or
    /// [`Packet::verify_checksum_v6`] (or trust the NIC's verdict).
    pub fn new_checked(buffer: T) -> Result<Self, TcpError> {
        let buf = buffer.as_ref();
        if buf.len() < HEADER_LEN {
            return Err(TcpError::Truncated);
        }
        let header_len = usize::from(buf[field::OFF_FLAGS.start] >> 4) * 4;
        if header_len < HEADER_LEN {
            return Err(TcpError::BadDataOffset);
        }
        if header_len > buf.len() {
            return Err(TcpError::HeaderExceedsSegment);
        }
        Ok(Packet { buffer })
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Sequence number.
    pub fn seq(&self) -> u32 {
        super::read_u32(self.buffer.as_ref(), field::SEQ.start)
    }

    /// Acknowledgement number.
    pub fn ack(&self) -> u32 {
        super::read_u32(self.buffer.as_ref(), field::ACK.start)
    }

    /// Header length in bytes (20..=60).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFF_FLAGS.start] >> 4) * 4
    }

    /// The flags.
    pub fn flags(&self) -> Flags {
        Flags(read_u16(self.buffer.as_ref(), field::OFF_FLAGS.start) & 0x01ff)
    }

    /// Receive window (unscaled).
    pub fn window(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The raw option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    fn raw_options(&self) -> RawOptionIter<'_> {
        RawOptionIter {
            rest: self.options(),
            offset: HEADER_LEN,
        }
    }

    /// Iterates over the options.
    pub fn options_iter(&self) -> OptionIter<'_> {
        OptionIter {
            raw: self.raw_options(),
        }
    }

    /// The MSS option's value, if the header has a well-formed one.
    pub fn mss(&self) -> Result<Option<u16>, TcpError> {
        for option in self.options_iter() {
            if let TcpOption::Mss(mss) = option? {
                return Ok(Some(mss));
            }
        }
        Ok(None)
    }

    /// The segment's data.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// Sum of the segment and the IPv4 pseudo-header; 0xffff when the checksum verifies.
    fn sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let buf = self.buffer.as_ref();
        // Segments are IP payloads, so their length fits 16 bits; a longer buffer is not a
        // segment and simply fails to verify.
        let len = u16::try_from(buf.len()).unwrap_or(0);
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp.into(), len);
        checksum::fold(u64::from(pseudo) + checksum::raw_sum(buf))
    }

    /// Sum of the segment and the IPv6 pseudo-header.
    fn sum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
        let buf = self.buffer.as_ref();
        let len = u32::try_from(buf.len()).unwrap_or(0);
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Tcp.into(), len);
        checksum::fold(u64::from(pseudo) + checksum::raw_sum(buf))
    }

    /// True when the checksum verifies with the IPv4 pseudo-header.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.sum_v4(src, dst) == 0xffff
    }

    /// True when the checksum verifies with the IPv6 pseudo-header.
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        self.sum_v6(src, dst) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the stored checksum as is.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes the checksum from scratch with the IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let sum = self.sum_v4(src, dst);
        self.set_checksum(!sum);
    }

    /// Computes the checksum from scratch with the IPv6 pseudo-header.
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let sum = self.sum_v6(src, dst);
        self.set_checksum(!sum);
    }

    fn rewrite_u16(&mut self, at: usize, new: u16) {
        let old = read_u16(self.buffer.as_ref(), at);
        let sum = checksum::update16(self.checksum(), old, new);
        write_u16(self.buffer.as_mut(), at, new);
        self.set_checksum(sum);
    }

    fn rewrite_u32(&mut self, at: usize, new: u32) {
        let old = super::read_u32(self.buffer.as_ref(), at);
        let sum = checksum::update32(self.checksum(), old.to_be_bytes(), new.to_be_bytes());
        super::write_u32(self.buffer.as_mut(), at, new);
        self.set_checksum(sum);
    }

    /// Sets the source port, keeping the checksum right.
    pub fn set_src_port(&mut self, port: u16) {
        self.rewrite_u16(field::SRC_PORT.start, port);
    }

    /// Sets the destination port, keeping the checksum right.
    pub fn set_dst_port(&mut self, port: u16) {
        self.rewrite_u16(field::DST_PORT.start, port);
    }

    /// Sets both ports, keeping the checksum right.
    pub fn set_ports(&mut self, src: u16, dst: u16) {
        let old = super::read_array::<4>(self.buffer.as_ref(), field::SRC_PORT.start);
        let mut new = [0u8; 4];
        new[..2].copy_from_slice(&src.to_be_bytes());
        new[2..].copy_from_slice(&dst.to_be_bytes());
        let sum = checksum::update32(self.checksum(), old, new);
        self.buffer.as_mut()[field::SRC_PORT.start..field::DST_PORT.end].copy_from_slice(&new);
        self.set_checksum(sum);
    }

    /// Sets the sequence number, keeping the checksum right.
    pub fn set_seq(&mut self, seq: u32) {
        self.rewrite_u32(field::SEQ.start, seq);
    }

    /// Sets the acknowledgement number, keeping the checksum right.
    pub fn set_ack(&mut self, ack: u32) {
        self.rewrite_u32(field::ACK.start, ack);
    }

    /// Sets the window, keeping the checksum right.
    pub fn set_window(&mut self, window: u16) {
        self.rewrite_u16(field::WINDOW.start, window);
    }

    /// Sets the flags (keeping the data offset), keeping the checksum right.
    pub fn set_flags(&mut self, flags: Flags) {
        let old = read_u16(self.buffer.as_ref(), field::OFF_FLAGS.start);
        self.rewrite_u16(field::OFF_FLAGS.start, (old & 0xfe00) | (flags.0 & 0x01ff));
    }

    /// Accounts in the checksum for an IPv4 address of the pseudo-header that the IP layer
    /// changed from `old` to `new` (NAT rewrites).
    pub fn adjust_checksum_for_ipv4_change(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        let sum = checksum::update32(self.checksum(), old.octets(), new.octets());
        self.set_checksum(sum);
    }

    /// Accounts in the checksum for an IPv6 address of the pseudo-header that changed.
    pub fn adjust_checksum_for_ipv6_change(&mut self, old: &Ipv6Addr, new: &Ipv6Addr) {
        let sum = checksum::update128(self.checksum(), old.octets(), new.octets());
        self.set_checksum(sum);
    }

    /// Rewrites the MSS option's value to `mss`, keeping the checksum right; returns the
    /// old value, or `None` when the header has no MSS option.
    pub fn set_mss(&mut self, mss: u16) -> Result<Option<u16>, TcpError> {
        let mut found = None;
        for option in self.raw_options() {
            let option = option?;
            if option.kind == kind::MSS
                && let TcpOption::Mss(old) = option.parse()?
            {
                found = Some((option.offset + 2, old));
                break;
            }
        }
        let Some((at, old)) = found else {
            return Ok(None);
        };
        // Options may sit at any byte offset, so the value may straddle two 16-bit words.
        let sum = checksum::update16_at(self.checksum(), at, old, mss);
        write_u16(self.buffer.as_mut(), at, mss);
        self.set_checksum(sum);
        Ok(Some(old))
    }

    /// Lowers the MSS option to `max` when it is larger (the path through a tunnel is
    /// shorter than the client thinks); returns the old value when it changed.
    pub fn clamp_mss(&mut self, max: u16) -> Result<Option<u16>, TcpError> {
        match self.mss()? {
            Some(mss) if mss > max => self.set_mss(max),
            _ => Ok(None),
        }
    }

    /// The segment's data, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        &mut self.buffer.as_mut()[header_len..]
    }
}

/// Inserts `option` (kind, length and data, as built e.g. by [`Toa::emit`]) at the end of
/// the TCP header of the segment `buf[..segment_len]`, using the room `buf` has after it.
///
/// The option is preceded by NOPs up to a multiple of 4 bytes; the payload moves up, the
/// data offset grows, and the checksum is updated incrementally (pseudo-header length
/// included). Returns the new segment length. The IP layer's length field is the caller's
/// ([`insert_option_ipv4`] and [`insert_option_ipv6`] do both).
pub fn insert_option(buf: &mut [u8], segment_len: usize, option: &[u8]) -> Result<usize, TcpError> {
    if option.is_empty() || option.len() > MAX_HEADER_LEN - HEADER_LEN {
        return Err(TcpError::BadOptionLength);
    }
    let segment = buf.get(..segment_len).ok_or(TcpError::Truncated)?;
    let header_len = Packet::new_checked(segment)?.header_len();
    let added = option.len().next_multiple_of(4);
    let new_header_len = header_len + added;
    if new_header_len > MAX_HEADER_LEN {
        return Err(TcpError::HeaderFull);
    }
    let new_len = segment_len + added;
    let new_len_16 = u16::try_from(new_len).map_err(|_| TcpError::NoRoom)?;
    if new_len > buf.len() {
        return Err(TcpError::NoRoom);
    }
    // segment_len < new_len <= 65535 here.
    let old_len_16 = u16::try_from(segment_len).unwrap_or(u16::MAX);

    buf.copy_within(header_len..segment_len, new_header_len);
    let padding = added - option.len();
    let inserted = &mut buf[header_len..new_header_len];
    inserted[..padding].fill(kind::NOP);
    inserted[padding..].copy_from_slice(option);
    let inserted_sum = checksum::sum(inserted);

    let old_word = read_u16(buf, field::OFF_FLAGS.start);
    // new_header_len <= 60, so the data offset fits its 4 bits.
    let new_word = (old_word & 0x0fff) | (((new_header_len / 4) as u16) << 12);
    write_u16(buf, field::OFF_FLAGS.start, new_word);

    let mut packet = Packet::new_unchecked(&mut buf[..new_len]);
    let mut sum = packet.checksum();
    sum = checksum::update16(sum, old_word, new_word);
    sum = checksum::update16(sum, old_len_16, new_len_16);
    sum = checksum::update16(sum, 0, inserted_sum);
    packet.set_checksum(sum);
    Ok(new_len)
}

/// [`insert_option`] for a TCP segment in an IPv4 packet `buf[..packet_len]` (starting at
/// the IPv4 header): also raises the total length, keeping the header checksum right.
/// Returns the new packet length.
pub fn insert_option_ipv4(
    buf: &mut [u8],
    packet_len: usize,
    option: &[u8],
) -> Result<usize, TcpError> {
    let packet = buf.get(..packet_len).ok_or(TcpError::NotTcp)?;
    let ip = ipv4::Packet::new_checked_without_checksum(packet).map_err(|_| TcpError::NotTcp)?;
    if ip.protocol() != IpProtocol::Tcp {
        return Err(TcpError::NotTcp);
    }
    if ip.is_fragment() {
        return Err(TcpError::Fragmented);
    }
    let header_len = ip.header_len();
    let total = usize::from(ip.total_len());
    if total + option.len().next_multiple_of(4) > usize::from(u16::MAX) {
        return Err(TcpError::NoRoom);
    }
    // Bytes after the total length (Ethernet padding) are not part of the segment.
    let segment_len = total - header_len;
    let room = buf.get_mut(header_len..).ok_or(TcpError::NotTcp)?;
    let new_segment_len = insert_option(room, segment_len, option)?;
    let new_total = header_len + new_segment_len;
    let new_total_16 = u16::try_from(new_total).map_err(|_| TcpError::NoRoom)?;
    ipv4::Packet::new_unchecked(&mut *buf).set_total_len(new_total_16);
    Ok(new_total)
}

/// [`insert_option`] for a TCP segment in an IPv6 packet `buf[..packet_len]`: also raises
/// the payload length. Returns the new packet length.
pub fn insert_option_ipv6(
    buf: &mut [u8],
    packet_len: usize,
    option: &[u8],
) -> Result<usize, TcpError> {
    let packet = buf.get(..packet_len).ok_or(TcpError::NotTcp)?;
    let ip = ipv6::Packet::new_checked(packet).map_err(|_| TcpError::NotTcp)?;
    let upper = ip.upper_layer().map_err(|_| TcpError::NotTcp)?;
    if upper.protocol != IpProtocol::Tcp {
        return Err(TcpError::NotTcp);
    }
    if upper.fragment.is_some_and(|f| f.is_fragmented()) {
        return Err(TcpError::Fragmented);
    }
    let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
    if usize::from(ip.payload_len()) + option.len().next_multiple_of(4) > usize::from(u16::MAX) {
        return Err(TcpError::NoRoom);
    }
    let segment_len = end.checked_sub(upper.offset).ok_or(TcpError::NotTcp)?;
    let room = buf.get_mut(upper.offset..).ok_or(TcpError::NotTcp)?;
    let new_segment_len = insert_option(room, segment_len, option)?;
    let new_end = upper.offset + new_segment_len;
    let payload_len = u16::try_from(new_end - ipv6::HEADER_LEN).map_err(|_| TcpError::NoRoom)?;
    ipv6::Packet::new_unchecked(&mut *buf).set_payload_len(payload_len);
    Ok(new_end)
}

/// Inserts a TOA option carrying the client's address into the TCP segment of an IPv4 or
/// IPv6 packet (the FULLNAT step); see [`insert_option_ipv4`].
pub fn insert_toa(
    buf: &mut [u8],
    packet_len: usize,
    client: Toa,
    outer_is_ipv6: bool,
) -> Result<usize, TcpError> {
    let (option, len) = client.to_bytes();
    let option = option.get(..len).ok_or(TcpError::BadOptionLength)?;
    debug_assert!(len == toa::LEN_V4 || len == toa::LEN_V6);
    if outer_is_ipv6 {
        insert_option_ipv6(buf, packet_len, option)
    } else {
        insert_option_ipv4(buf, packet_len, option)
    }
}

/// The fields of a TCP header without options, for building one (resets, SYN-ACKs of
/// a SYN proxy, test traffic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: Flags,
    /// Window.
    pub window: u16,
}

impl Repr {
    /// Writes a 20-byte header (checksum zero: fill it once the payload is in place with
    /// [`Packet::fill_checksum_v4`]); returns 20.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, TcpError> {
        let header = buf.get_mut(..HEADER_LEN).ok_or(TcpError::BufferTooSmall)?;
        write_u16(header, field::SRC_PORT.start, self.src_port);
        write_u16(header, field::DST_PORT.start, self.dst_port);
        super::write_u32(header, field::SEQ.start, self.seq);
        super::write_u32(header, field::ACK.start, self.ack);
        write_u16(
            header,
            field::OFF_FLAGS.start,
            0x5000 | (self.flags.0 & 0x01ff),
        );
        write_u16(header, field::WINDOW.start, self.window);
        write_u16(header, field::CHECKSUM.start, 0);
        write_u16(header, field::URGENT.start, 0);
        Ok(HEADER_LEN)
    }

    /// Reads the fixed fields of a checked segment.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Self {
        Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq(),
            ack: packet.ack(),
            flags: packet.flags(),
            window: packet.window(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::hex;
    use core::net::IpAddr;
    use proptest::prelude::*;

    // scapy: IP(src="192.0.2.10", dst="198.51.100.20", id=0x1234, flags="DF", ttl=64)
    //        /TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240,
    //        options=[("MSS",1460),("SAckOK",b""),("Timestamp",(12345,0)),("NOP",None),
    //        ("WScale",7)])
    const SYN: &str = include_str!("testdata/ipv4_tcp_syn_opts.hex");

    // scapy: IP(src="192.0.2.10", dst="198.51.100.20")/TCP(sport=40000, dport=80,
    //        flags="A", seq=1001, ack=5001, options=[("NOP",None),("NOP",None),
    //        ("SAck",(100,200,300,400))])/Raw(b"hello, world")
    const ACK_SACK_DATA: &str = include_str!("testdata/ipv4_tcp_sack_data.hex");

    // The SYN above after inserting TOA(client 203.0.113.7:40000), as scapy builds it:
    //        options=[...same..., (254, b"\x9c\x40\xcb\x00\x71\x07")], total length 68
    const SYN_WITH_TOA: &str = include_str!("testdata/ipv4_tcp_syn_toa.hex");

    // scapy: IPv6(src="2001:db8::1", dst="2001:db8::2", tc=0xb8, fl=0x12345, hlim=64)
    //        /TCP(sport=40000, dport=80, flags="S", seq=1000)
    const SYN6: &str = include_str!("testdata/ipv6_tcp.hex");

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);

    fn segment(packet: &[u8]) -> &[u8] {
        let ip = ipv4::Packet::new_checked(packet).unwrap();
        &packet[ip.header_len()..usize::from(ip.total_len())]
    }

    #[test]
    fn parse_captured_syn() {
        let bytes = hex(SYN);
        let tcp = Packet::new_checked(segment(&bytes)).unwrap();
        assert!(tcp.verify_checksum_v4(SRC, DST));
        assert!(!tcp.verify_checksum_v4(DST, Ipv4Addr::new(198, 51, 100, 21)));
        assert_eq!(
            (tcp.src_port(), tcp.dst_port(), tcp.seq(), tcp.ack()),
            (40000, 80, 1000, 0)
        );
        assert_eq!(tcp.header_len(), 40);
        assert_eq!(tcp.flags(), Flags::SYN);
        assert!(tcp.flags().syn() && !tcp.flags().ack());
        assert_eq!(tcp.window(), 64240);
        let options: Vec<_> = tcp.options_iter().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            options,
            vec![
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    value: 12345,
                    echo: 0
                },
                TcpOption::Nop,
                TcpOption::WindowScale(7),
            ]
        );
        assert_eq!(tcp.mss(), Ok(Some(1460)));
        assert!(tcp.payload().is_empty());
    }

    #[test]
    fn parse_sack_and_data() {
        let bytes = hex(ACK_SACK_DATA);
        let tcp = Packet::new_checked(segment(&bytes)).unwrap();
        assert!(tcp.verify_checksum_v4(SRC, DST));
        assert_eq!(tcp.flags(), Flags::ACK);
        assert_eq!(tcp.payload(), b"hello, world");
        let sack = tcp
            .options_iter()
            .find_map(|o| match o {
                Ok(TcpOption::Sack(blocks)) => Some(blocks),
                _ => None,
            })
            .unwrap();
        assert_eq!(sack.collect::<Vec<_>>(), vec![(100, 200), (300, 400)]);
        assert_eq!(tcp.mss(), Ok(None));
    }

    #[test]
    fn parse_ipv6_segment() {
        let bytes = hex(SYN6);
        let ip = ipv6::Packet::new_checked(&bytes[..]).unwrap();
        let tcp = Packet::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum_v6(&ip.src(), &ip.dst()));
        assert_eq!(tcp.seq(), 1000);
    }

    #[test]
    fn malformed_options_are_typed_errors() {
        let cases: [(&[u8], TcpError); 7] = [
            (&[2, 1, 0, 0], TcpError::BadOptionLength), // length below 2
            (&[2, 3, 5, 0], TcpError::BadOptionLength), // MSS of length 3
            (&[3, 4, 7, 0], TcpError::BadOptionLength), // WS of length 4
            (&[4, 3, 0, 0], TcpError::BadOptionLength), // SACK-perm of length 3
            (&[5, 4, 0, 0], TcpError::BadOptionLength), // SACK of length 4
            (&[1, 1, 8, 10], TcpError::OptionTruncated), // TS past the header
            (&[1, 1, 1, 0x22], TcpError::OptionTruncated), // length byte missing
        ];
        for (options, error) in cases {
            let mut seg = [0u8; 24];
            seg[12] = 0x60;
            seg[20..24].copy_from_slice(options);
            let tcp = Packet::new_checked(&seg[..]).unwrap();
            let items: Vec<_> = tcp.options_iter().collect();
            assert_eq!(items.last(), Some(&Err(error)), "{options:?}");
            assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
        }
        // Unknown kinds and EOL.
        let mut seg = [0u8; 28];
        seg[12] = 0x70;
        seg[20..28].copy_from_slice(&[30, 4, 0xaa, 0xbb, 0, 2, 4, 5]);
        let tcp = Packet::new_checked(&seg[..]).unwrap();
        let items: Vec<_> = tcp.options_iter().collect();
        assert_eq!(
            items,
            vec![Ok(TcpOption::Unknown {
                kind: 30,
                data: &[0xaa, 0xbb]
            })]
        );
    }

    #[test]
    fn checked_constructor_refusals() {
        let bytes = hex(SYN);
        let seg = segment(&bytes);
        assert_eq!(Packet::new_checked(&seg[..19]), Err(TcpError::Truncated));
        assert_eq!(
            Packet::new_checked(&seg[..39]),
            Err(TcpError::HeaderExceedsSegment)
        );
        let mut bad = seg.to_vec();
        bad[12] = 0x40;
        assert_eq!(Packet::new_checked(&bad[..]), Err(TcpError::BadDataOffset));
    }

    #[test]
    fn rewrites_keep_checksum() {
        let mut bytes = hex(ACK_SACK_DATA);
        let mut ip = ipv4::Packet::new_checked(&mut bytes[..]).unwrap();
        let new_src = Ipv4Addr::new(10, 0, 0, 1);
        ip.set_src(new_src);
        let payload = ip.payload_mut();
        let mut tcp = Packet::new_checked(payload).unwrap();
        tcp.adjust_checksum_for_ipv4_change(SRC, new_src);
        tcp.set_ports(1025, 8080);
        tcp.set_seq(0xffff_ffff);
        tcp.set_ack(0);
        tcp.set_window(0);
        tcp.set_flags(Flags::ACK | Flags::PSH);
        assert!(tcp.verify_checksum_v4(new_src, DST));
        let incremental = tcp.checksum();
        tcp.fill_checksum_v4(new_src, DST);
        assert_eq!(tcp.checksum(), incremental);
        assert_eq!((tcp.src_port(), tcp.dst_port()), (1025, 8080));
        assert_eq!(tcp.header_len(), 40);
        assert_eq!(tcp.flags(), Flags(0x018));
    }

    #[test]
    fn toa_insertion_matches_capture() {
        let mut buf = hex(SYN);
        let len = buf.len();
        buf.resize(len + 64, 0xee);
        let toa = Toa {
            port: 40000,
            addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        };
        let new_len = insert_toa(&mut buf, len, toa, false).unwrap();
        assert_eq!(new_len, len + 8);
        assert_eq!(&buf[..new_len], &hex(SYN_WITH_TOA)[..]);
        let tcp = Packet::new_checked(segment(&buf[..new_len])).unwrap();
        assert!(tcp.options_iter().any(|o| o == Ok(TcpOption::Toa(toa))));
    }

    #[test]
    fn toa_insertion_moves_payload_ipv6() {
        // SYN6 has no payload; give it one so the shift is visible.
        let mut bytes = hex(SYN6);
        bytes.extend_from_slice(b"abcdefghi");
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        {
            let mut ip = ipv6::Packet::new_unchecked(&mut bytes[..]);
            ip.set_payload_len(29);
            let mut tcp = Packet::new_unchecked(ip.payload_mut());
            tcp.fill_checksum_v6(&src, &dst);
        }
        let len = bytes.len();
        bytes.resize(len + 20, 0);
        let toa = Toa {
            port: 443,
            addr: IpAddr::V6("2001:db8::99".parse().unwrap()),
        };
        let new_len = insert_toa(&mut bytes, len, toa, true).unwrap();
        assert_eq!(new_len, len + 20);
        let ip = ipv6::Packet::new_checked(&bytes[..new_len]).unwrap();
        assert_eq!(ip.payload_len(), 49);
        let tcp = Packet::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum_v6(&src, &dst));
        assert_eq!(tcp.header_len(), 40);
        assert_eq!(tcp.payload(), b"abcdefghi");
        assert_eq!(tcp.options_iter().next(), Some(Ok(TcpOption::Toa(toa))));
    }

    #[test]
    fn insertion_refusals() {
        let mut buf = hex(SYN);
        let len = buf.len();
        // No room after the packet.
        let option = [kind::TOA, 8, 0, 1, 1, 2, 3, 4];
        assert_eq!(
            insert_option_ipv4(&mut buf, len, &option),
            Err(TcpError::NoRoom)
        );
        // 40-byte header + 20 = 60 fits; + 8 more does not.
        buf.resize(len + 64, 0);
        let big = [
            kind::TOA,
            20,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        let len2 = insert_option_ipv4(&mut buf, len, &big).unwrap();
        assert_eq!(len2, len + 20);
        assert_eq!(
            insert_option_ipv4(&mut buf, len2, &option),
            Err(TcpError::HeaderFull)
        );
        assert_eq!(
            insert_option_ipv4(&mut buf, len2, &[]),
            Err(TcpError::BadOptionLength)
        );
        // Not TCP.
        let mut udp = hex(ACK_SACK_DATA);
        ipv4::Packet::new_checked(&mut udp[..])
            .unwrap()
            .set_protocol(IpProtocol::Udp);
        let udp_len = udp.len();
        udp.resize(udp_len + 16, 0);
        assert_eq!(
            insert_option_ipv4(&mut udp, udp_len, &option),
            Err(TcpError::NotTcp)
        );
        // Odd-sized option gets NOP padding in front.
        let mut buf = hex(ACK_SACK_DATA);
        let len = buf.len();
        buf.resize(len + 8, 0);
        let new_len = insert_option_ipv4(&mut buf, len, &[kind::WINDOW_SCALE, 3, 9]).unwrap();
        assert_eq!(new_len, len + 4);
        let tcp = Packet::new_checked(segment(&buf[..new_len])).unwrap();
        assert!(tcp.verify_checksum_v4(SRC, DST));
        assert_eq!(&tcp.options()[20..24], &[1, 3, 3, 9]);
        assert_eq!(tcp.payload(), b"hello, world");
    }

    #[test]
    fn mss_clamp() {
        let mut bytes = hex(SYN);
        let ip_len = 20;
        let mut tcp = Packet::new_checked(&mut bytes[ip_len..]).unwrap();
        assert_eq!(tcp.clamp_mss(1500), Ok(None));
        assert_eq!(tcp.clamp_mss(1400), Ok(Some(1460)));
        assert_eq!(tcp.mss(), Ok(Some(1400)));
        assert!(tcp.verify_checksum_v4(SRC, DST));
        // MSS at an odd offset (after one NOP): the update must straddle words.
        let mut seg = [0u8; 28];
        Repr {
            src_port: 1,
            dst_port: 2,
            seq: 3,
            ack: 0,
            flags: Flags::SYN,
            window: 9,
        }
        .emit(&mut seg)
        .unwrap();
        seg[12] = 0x70;
        seg[20..28].copy_from_slice(&[1, 2, 4, 0x05, 0xb4, 1, 1, 0]);
        let mut tcp = Packet::new_checked(&mut seg[..]).unwrap();
        tcp.fill_checksum_v4(SRC, DST);
        assert_eq!(tcp.set_mss(536), Ok(Some(1460)));
        assert!(tcp.verify_checksum_v4(SRC, DST));
        assert_eq!(tcp.mss(), Ok(Some(536)));
    }

    #[test]
    fn repr_round_trip() {
        let repr = Repr {
            src_port: 80,
            dst_port: 40000,
            seq: 7,
            ack: 1001,
            flags: Flags::SYN | Flags::ACK,
            window: 65535,
        };
        let mut buf = [0u8; 20];
        assert_eq!(repr.emit(&mut buf), Ok(20));
        assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), repr);
        assert_eq!(repr.emit(&mut buf[..19]), Err(TcpError::BufferTooSmall));
    }

    /// A TCP/IPv4 packet built from parts, with valid checksums and `room` spare bytes.
    fn build(options: &[u8], payload: &[u8], room: usize) -> (Vec<u8>, usize) {
        let header_len = 20 + options.len();
        let total = 20 + header_len + payload.len();
        let mut buf = vec![0u8; total + room];
        ipv4::Repr {
            src: SRC,
            dst: DST,
            protocol: IpProtocol::Tcp,
            payload_len: header_len + payload.len(),
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_frag: true,
        }
        .emit(&mut buf)
        .unwrap();
        Repr {
            src_port: 1234,
            dst_port: 80,
            seq: 1,
            ack: 2,
            flags: Flags::ACK,
            window: 100,
        }
        .emit(&mut buf[20..])
        .unwrap();
        buf[32] = u8::try_from(header_len / 4).unwrap() << 4;
        buf[40..40 + options.len()].copy_from_slice(options);
        buf[20 + header_len..total].copy_from_slice(payload);
        Packet::new_unchecked(&mut buf[20..total]).fill_checksum_v4(SRC, DST);
        (buf, total)
    }

    fn option_bytes() -> impl Strategy<Value = Vec<u8>> {
        // Well-formed option lists made of NOPs, MSS, WS, SACK-perm and TS, padded to 4.
        proptest::collection::vec(0usize..5, 0..6).prop_map(|kinds| {
            let mut out = Vec::new();
            for k in kinds {
                match k {
                    0 => out.push(1),
                    1 => out.extend_from_slice(&[2, 4, 5, 0xb4]),
                    2 => out.extend_from_slice(&[3, 3, 7]),
                    3 => out.extend_from_slice(&[4, 2]),
                    _ => out.extend_from_slice(&[8, 10, 0, 0, 0, 1, 0, 0, 0, 0]),
                }
            }
            out.truncate(40);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            crate::wire::fuzz::tcp(&bytes);
        }

        #[test]
        fn insertion_keeps_checksums_and_bounds(
            options in option_bytes(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            room in 0usize..40,
            new_option in proptest::collection::vec(any::<u8>(), 1..24),
        ) {
            let (mut buf, len) = build(&options, &payload, room);
            let before = buf.clone();
            let old_header = 20 + options.len();
            match insert_option_ipv4(&mut buf, len, &new_option) {
                Ok(new_len) => {
                    let added = new_option.len().next_multiple_of(4);
                    prop_assert_eq!(new_len, len + added);
                    prop_assert!(new_len <= buf.len());
                    let ip = ipv4::Packet::new_checked(&buf[..new_len]).unwrap();
                    prop_assert_eq!(usize::from(ip.total_len()), new_len);
                    let tcp = Packet::new_checked(ip.payload()).unwrap();
                    prop_assert!(tcp.verify_checksum_v4(SRC, DST));
                    prop_assert_eq!(tcp.header_len(), old_header + added);
                    prop_assert!(tcp.header_len() <= MAX_HEADER_LEN);
                    prop_assert_eq!(tcp.payload(), &payload[..]);
                    prop_assert_eq!(&tcp.options()[..options.len()], &options[..]);
                    prop_assert_eq!(&tcp.options()[tcp.options().len() - new_option.len()..], &new_option[..]);
                    let mut again = buf[20..new_len].to_vec();
                    let mut full = Packet::new_unchecked(&mut again[..]);
                    full.fill_checksum_v4(SRC, DST);
                    prop_assert_eq!(full.checksum(), tcp.checksum());
                }
                Err(TcpError::HeaderFull) => {
                    prop_assert!(old_header + new_option.len().next_multiple_of(4) > MAX_HEADER_LEN);
                    prop_assert_eq!(&buf, &before);
                }
                Err(TcpError::NoRoom) => {
                    prop_assert!(room < new_option.len().next_multiple_of(4));
                    prop_assert_eq!(&buf, &before);
                }
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn mss_rewrite_keeps_checksum(lead in 0usize..4, old in any::<u16>(), new in any::<u16>(),
                                      payload in proptest::collection::vec(any::<u8>(), 0..9)) {
            let mut options = vec![1u8; lead];
            options.extend_from_slice(&[2, 4]);
            options.extend_from_slice(&old.to_be_bytes());
            while options.len() % 4 != 0 { options.push(0); }
            let (mut buf, len) = build(&options, &payload, 0);
            let mut tcp = Packet::new_checked(&mut buf[20..len]).unwrap();
            prop_assert_eq!(tcp.set_mss(new), Ok(Some(old)));
            prop_assert!(tcp.verify_checksum_v4(SRC, DST));
            let incremental = tcp.checksum();
            tcp.fill_checksum_v4(SRC, DST);
            prop_assert_eq!(tcp.checksum(), incremental);
        }

        #[test]
        fn port_and_seq_rewrites_equal_recompute(sp in any::<u16>(), dp in any::<u16>(),
                                                 seq in any::<u32>(), ack in any::<u32>(),
                                                 addr in any::<[u8; 4]>(),
                                                 payload in proptest::collection::vec(any::<u8>(), 0..33)) {
            let (mut buf, len) = build(&[], &payload, 0);
            let new_src = Ipv4Addr::from(addr);
            let mut tcp = Packet::new_checked(&mut buf[20..len]).unwrap();
            tcp.set_src_port(sp);
            tcp.set_dst_port(dp);
            tcp.set_seq(seq);
            tcp.set_ack(ack);
            tcp.adjust_checksum_for_ipv4_change(SRC, new_src);
            let incremental = tcp.checksum();
            tcp.fill_checksum_v4(new_src, DST);
            prop_assert_eq!(tcp.checksum(), incremental);
        }
    }
}
