//! What a packet looks up: protocol, 5-tuple, direction and the TCP flags that drive the
//! state machine. Plain values, so the table does not depend on the packet parsers.

use core::fmt;

/// Transport protocol of a connection entry.
///
/// `Icmp` means the ICMP of the table's family (ICMP for IPv4, ICMPv6 for IPv6). ICMP echo is
/// keyed by its identifier standing in for both ports (see [`FlowKey::icmp_echo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    /// The name IPVS prints in the `pro` column of `ipvsadm -Lnc`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Icmp => "ICMP",
        }
    }

    /// Maps an IP protocol number (IPv4 `protocol` / IPv6 `next header`) to a protocol the
    /// table tracks; ICMP (1) and ICMPv6 (58) both map to [`Proto::Icmp`].
    pub fn from_ip_number(number: u8) -> Option<Proto> {
        match number {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            1 | 58 => Some(Proto::Icmp),
            _ => None,
        }
    }

    /// A small number for hashing.
    #[inline]
    pub(crate) fn code(self) -> u8 {
        match self {
            Proto::Tcp => 1,
            Proto::Udp => 2,
            Proto::Icmp => 3,
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which side of a connection a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client, towards the VIP ("input" in IPVS).
    In,
    /// From the real server, towards the client or the FULLNAT local address ("output").
    Out,
}

impl Direction {
    #[inline]
    pub(crate) fn index(self) -> usize {
        match self {
            Direction::In => 0,
            Direction::Out => 1,
        }
    }
}

/// A packet's lookup key as it appears on the wire: source and destination as seen in the
/// packet, whichever direction it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey<A> {
    pub proto: Proto,
    pub src: A,
    pub sport: u16,
    pub dst: A,
    pub dport: u16,
}

impl<A> FlowKey<A> {
    pub fn new(proto: Proto, src: A, sport: u16, dst: A, dport: u16) -> Self {
        FlowKey {
            proto,
            src,
            sport,
            dst,
            dport,
        }
    }

    /// The key of an ICMP echo request or reply: the identifier stands in for both ports, so
    /// a request (client → VIP, id) and its reply (real server → client, id) each match one
    /// side of the same entry. A FULLNAT forwarder that rewrites the identifier stores the new
    /// one as the local "port".
    pub fn icmp_echo(src: A, dst: A, ident: u16) -> Self {
        FlowKey::new(Proto::Icmp, src, ident, dst, ident)
    }
}

/// The TCP header flags the state machine reads, with the wire's bit positions (RFC 9293).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// No flags: what UDP and ICMP updates pass.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// The flags byte (offset 13 of the TCP header).
    pub const fn from_bits(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_match_the_wire() {
        // A SYN+ACK as captured: flags byte 0x12.
        let f = TcpFlags::from_bits(0x12);
        assert!(f.contains(TcpFlags::SYN));
        assert!(f.contains(TcpFlags::ACK));
        assert!(!f.contains(TcpFlags::FIN));
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).bits(), 0x11);
        assert_eq!(TcpFlags::RST.bits(), 0x04);
    }

    #[test]
    fn protocol_numbers() {
        assert_eq!(Proto::from_ip_number(6), Some(Proto::Tcp));
        assert_eq!(Proto::from_ip_number(17), Some(Proto::Udp));
        assert_eq!(Proto::from_ip_number(1), Some(Proto::Icmp));
        assert_eq!(Proto::from_ip_number(58), Some(Proto::Icmp));
        assert_eq!(Proto::from_ip_number(47), None);
    }
}
