//! One slab record: everything the forwarder needs to rewrite a packet of a connection
//! without touching the service table, plus the table's own bookkeeping.
//!
//! The record is 64 bytes for IPv4 (checked at compile time below): one cache line, so a
//! lookup hit touches the bucket array and this line and nothing else. To get there the
//! forwarding method, tunnel kind and the table's four internal flags share one byte.

use std::net::Ipv4Addr;

use super::addr::ConnAddr;
use super::key::{Direction, FlowKey, Proto};
use super::tcp::TcpState;
use super::wheel::NIL;

/// How the director forwards a connection's packets to its real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FwdMethod {
    /// Direct routing: only the Ethernet header changes ("Route" in ipvsadm).
    Dr,
    /// IP-in-IP / GUE / GRE encapsulation ("Tunnel").
    Tun,
    /// Destination NAT; replies come back through the director ("Masq").
    Nat,
    /// Destination and source NAT to a local address ("FullNat").
    FullNat,
}

impl FwdMethod {
    /// The name ipvsadm prints in the Forward column.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            FwdMethod::Dr => "Route",
            FwdMethod::Tun => "Tunnel",
            FwdMethod::Nat => "Masq",
            FwdMethod::FullNat => "FullNat",
        }
    }
}

/// Encapsulation of a tunnelled connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    Ipip,
    Gue,
    Gre,
}

/// The forwarding of a new connection, with what each method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward<A> {
    Dr,
    Tun(TunnelKind),
    Nat,
    /// The local address and port the director uses towards the real server; the real
    /// server's replies are addressed to them, so they are the reply side's key.
    FullNat {
        laddr: A,
        lport: u16,
    },
}

/// Flags owned by the forwarder: the table stores them and never interprets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnFlags(pub u8);

impl ConnFlags {
    /// FULLNAT: a TOA option has been inserted at least once.
    pub const TOA_SENT: ConnFlags = ConnFlags(0x01);
    /// FULLNAT: the PROXY protocol header has been inserted at least once.
    pub const PROXY_SENT: ConnFlags = ConnFlags(0x02);
    /// FULLNAT: the connection delivers the client address with TOA (latched from its SYN).
    pub const WANT_TOA: ConnFlags = ConnFlags(0x04);
    /// FULLNAT: the connection delivers the client address with a PROXY v2 header (latched
    /// from its SYN); `seq_delta` then holds the sequence number the header sits at.
    pub const WANT_PROXY: ConnFlags = ConnFlags(0x08);
    /// FULLNAT: the real server has what it needs (it sent a non-SYN segment, or
    /// acknowledged the whole PROXY header).
    pub const DELIVERED: ConnFlags = ConnFlags(0x10);

    pub const fn contains(self, other: ConnFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn with(self, other: ConnFlags) -> ConnFlags {
        ConnFlags(self.0 | other.0)
    }
}

// The `bits` byte: the transmit kind in the low three bits, then the internal flags.
const XMIT_MASK: u8 = 0x07;
const XMIT_DR: u8 = 0;
const XMIT_IPIP: u8 = 1;
const XMIT_GUE: u8 = 2;
const XMIT_GRE: u8 = 3;
const XMIT_NAT: u8 = 4;
const XMIT_FULLNAT: u8 = 5;
/// A persistence template, not a connection.
pub const F_TEMPLATE: u8 = 0x08;
/// Counted in the destination's InActConn (IPVS's IP_VS_CONN_F_INACTIVE).
pub const F_INACTIVE: u8 = 0x10;
/// No reply seen yet on a DR/TUN connection: client packets use the input-only table
/// (IPVS's IP_VS_CONN_F_NOOUTPUT).
pub const F_NO_OUTPUT: u8 = 0x20;
/// A template taken out of the index because its destination became unavailable
/// (IPVS's ip_vs_check_template); it lives on until its timer fires.
pub const F_INVALID: u8 = 0x40;

/// One slab record. Field meanings depend on what the record is:
/// a connection (`F_TEMPLATE` clear) or a persistence template (`F_TEMPLATE` set, keyed by
/// masked client address, client port 0, VIP and template port; no reply side).
#[derive(Debug, Clone)]
pub struct Entry<A> {
    pub caddr: A,
    pub vaddr: A,
    pub raddr: A,
    /// FULLNAT local address; unspecified otherwise.
    pub laddr: A,
    pub cport: u16,
    pub vport: u16,
    pub rport: u16,
    pub lport: u16,
    pub dest_id: u32,
    pub svc_id: u32,
    pub seq_delta: u32,
    /// Deadline tick (see `clock`).
    pub deadline: u32,
    /// Connection: slab index of the controlling template, or NIL.
    pub control: u32,
    /// Template: how many connections it controls.
    pub n_control: u32,
    /// Template: its timeout in seconds (the service's persistence timeout, 60 after the
    /// first re-arm, as in IPVS).
    pub persist_secs: u32,
    /// Next node of the hash chain of each side's key (`index` encodes the side), or NIL.
    /// A free record links the free list through `chain[0]`.
    pub chain: [u32; 2],
    /// `None` marks a free record.
    pub proto: Option<Proto>,
    pub tcp_state: TcpState,
    pub bits: u8,
    pub flags: ConnFlags,
}

// The memory goal rests on this: 64 bytes of record per IPv4 connection.
const _: () = assert!(core::mem::size_of::<Entry<Ipv4Addr>>() == 64);

impl<A: ConnAddr> Entry<A> {
    /// A free record.
    pub fn vacant(next_free: u32) -> Entry<A> {
        Entry {
            caddr: A::UNSPECIFIED,
            vaddr: A::UNSPECIFIED,
            raddr: A::UNSPECIFIED,
            laddr: A::UNSPECIFIED,
            cport: 0,
            vport: 0,
            rport: 0,
            lport: 0,
            dest_id: 0,
            svc_id: 0,
            seq_delta: 0,
            deadline: 0,
            control: NIL,
            n_control: 0,
            persist_secs: 0,
            chain: [next_free, NIL],
            proto: None,
            tcp_state: TcpState::None,
            bits: 0,
            flags: ConnFlags::default(),
        }
    }

    #[inline]
    pub fn is_live(&self) -> bool {
        self.proto.is_some()
    }

    #[inline]
    pub fn has(&self, flag: u8) -> bool {
        self.bits & flag != 0
    }

    #[inline]
    pub fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.bits |= flag;
        } else {
            self.bits &= !flag;
        }
    }

    #[inline]
    pub fn is_template(&self) -> bool {
        self.has(F_TEMPLATE)
    }

    pub fn set_forward(&mut self, fwd: &Forward<A>) {
        let (xmit, laddr, lport) = match *fwd {
            Forward::Dr => (XMIT_DR, A::UNSPECIFIED, 0),
            Forward::Tun(TunnelKind::Ipip) => (XMIT_IPIP, A::UNSPECIFIED, 0),
            Forward::Tun(TunnelKind::Gue) => (XMIT_GUE, A::UNSPECIFIED, 0),
            Forward::Tun(TunnelKind::Gre) => (XMIT_GRE, A::UNSPECIFIED, 0),
            Forward::Nat => (XMIT_NAT, A::UNSPECIFIED, 0),
            Forward::FullNat { laddr, lport } => (XMIT_FULLNAT, laddr, lport),
        };
        self.bits = (self.bits & !XMIT_MASK) | xmit;
        self.laddr = laddr;
        self.lport = lport;
    }

    #[inline]
    pub fn method(&self) -> FwdMethod {
        match self.bits & XMIT_MASK {
            XMIT_IPIP | XMIT_GUE | XMIT_GRE => FwdMethod::Tun,
            XMIT_NAT => FwdMethod::Nat,
            XMIT_FULLNAT => FwdMethod::FullNat,
            _ => FwdMethod::Dr,
        }
    }

    #[inline]
    pub fn tunnel(&self) -> Option<TunnelKind> {
        match self.bits & XMIT_MASK {
            XMIT_IPIP => Some(TunnelKind::Ipip),
            XMIT_GUE => Some(TunnelKind::Gue),
            XMIT_GRE => Some(TunnelKind::Gre),
            _ => None,
        }
    }

    #[inline]
    pub fn forward(&self) -> Forward<A> {
        match self.method() {
            FwdMethod::Dr => Forward::Dr,
            FwdMethod::Tun => Forward::Tun(self.tunnel().unwrap_or(TunnelKind::Ipip)),
            FwdMethod::Nat => Forward::Nat,
            FwdMethod::FullNat => Forward::FullNat {
                laddr: self.laddr,
                lport: self.lport,
            },
        }
    }

    /// The address and port the real server replies to: the FULLNAT local address, or the
    /// client.
    #[inline]
    pub fn reply_to(&self) -> (A, u16) {
        if self.bits & XMIT_MASK == XMIT_FULLNAT {
            (self.laddr, self.lport)
        } else {
            (self.caddr, self.cport)
        }
    }

    /// Whether a packet key is this record's key on side `dir`.
    #[inline]
    pub fn matches(&self, dir: Direction, key: &FlowKey<A>) -> bool {
        if self.proto != Some(key.proto) {
            return false;
        }
        match dir {
            Direction::In => {
                self.cport == key.sport
                    && self.vport == key.dport
                    && self.caddr == key.src
                    && self.vaddr == key.dst
            }
            Direction::Out => {
                let (daddr, dport) = self.reply_to();
                self.rport == key.sport
                    && dport == key.dport
                    && self.raddr == key.src
                    && daddr == key.dst
            }
        }
    }

    /// This record's key on side `dir` (templates: their one key is the `In` side).
    pub fn key(&self, dir: Direction) -> Option<FlowKey<A>> {
        let proto = self.proto?;
        Some(match dir {
            Direction::In => FlowKey::new(proto, self.caddr, self.cport, self.vaddr, self.vport),
            Direction::Out => {
                let (daddr, dport) = self.reply_to();
                FlowKey::new(proto, self.raddr, self.rport, daddr, dport)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_record_size_is_what_the_docs_say() {
        assert_eq!(core::mem::size_of::<Entry<std::net::Ipv6Addr>>(), 112);
    }

    #[test]
    fn forward_round_trips_through_the_packed_byte() {
        let laddr = Ipv4Addr::new(10, 9, 9, 9);
        let cases = [
            Forward::Dr,
            Forward::Tun(TunnelKind::Ipip),
            Forward::Tun(TunnelKind::Gue),
            Forward::Tun(TunnelKind::Gre),
            Forward::Nat,
            Forward::FullNat { laddr, lport: 4242 },
        ];
        for fwd in cases {
            let mut e = Entry::<Ipv4Addr>::vacant(NIL);
            e.bits = F_TEMPLATE | F_INACTIVE | F_NO_OUTPUT | F_INVALID;
            e.set_forward(&fwd);
            assert_eq!(e.forward(), fwd);
            // The internal flags survive.
            assert!(
                e.has(F_TEMPLATE) && e.has(F_INACTIVE) && e.has(F_NO_OUTPUT) && e.has(F_INVALID)
            );
        }
    }

    #[test]
    fn reply_side_key_depends_on_the_method() {
        let mut e = Entry::<Ipv4Addr>::vacant(NIL);
        e.proto = Some(Proto::Tcp);
        e.caddr = Ipv4Addr::new(1, 1, 1, 1);
        e.cport = 1000;
        e.vaddr = Ipv4Addr::new(2, 2, 2, 2);
        e.vport = 80;
        e.raddr = Ipv4Addr::new(3, 3, 3, 3);
        e.rport = 8080;
        e.set_forward(&Forward::Nat);
        let out = e.key(Direction::Out).unwrap();
        assert_eq!((out.dst, out.dport), (e.caddr, 1000));
        e.set_forward(&Forward::FullNat {
            laddr: Ipv4Addr::new(4, 4, 4, 4),
            lport: 5000,
        });
        let out = e.key(Direction::Out).unwrap();
        assert_eq!((out.src, out.sport), (e.raddr, 8080));
        assert_eq!((out.dst, out.dport), (Ipv4Addr::new(4, 4, 4, 4), 5000));
        assert!(e.matches(Direction::Out, &out));
        assert!(!e.matches(Direction::In, &out));
        let mut udp = out;
        udp.proto = Proto::Udp;
        assert!(!e.matches(Direction::Out, &udp));
    }
}
