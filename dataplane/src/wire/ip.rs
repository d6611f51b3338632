//! Protocol numbers shared by IPv4's protocol field and IPv6's next-header field.

/// An IANA protocol number, as a total enum: values rvs does not act on are kept as
/// `Unknown`, so converting to this type and back never loses information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// 0: IPv6 hop-by-hop options.
    HopByHop,
    /// 1.
    Icmp,
    /// 2.
    Igmp,
    /// 4: IPv4 in IP (IPIP tunnels, LVS TUN mode).
    IpIp,
    /// 6.
    Tcp,
    /// 17.
    Udp,
    /// 41: IPv6 encapsulation.
    Ipv6,
    /// 43: IPv6 routing header.
    Ipv6Route,
    /// 44: IPv6 fragment header.
    Ipv6Frag,
    /// 47: generic routing encapsulation.
    Gre,
    /// 50: encapsulating security payload.
    Esp,
    /// 51: authentication header.
    Ah,
    /// 58.
    Icmpv6,
    /// 59: IPv6 "no next header".
    Ipv6NoNext,
    /// 60: IPv6 destination options.
    Ipv6Opts,
    /// 112: VRRP.
    Vrrp,
    /// 132.
    Sctp,
    /// Any other number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            0 => IpProtocol::HopByHop,
            1 => IpProtocol::Icmp,
            2 => IpProtocol::Igmp,
            4 => IpProtocol::IpIp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            41 => IpProtocol::Ipv6,
            43 => IpProtocol::Ipv6Route,
            44 => IpProtocol::Ipv6Frag,
            47 => IpProtocol::Gre,
            50 => IpProtocol::Esp,
            51 => IpProtocol::Ah,
            58 => IpProtocol::Icmpv6,
            59 => IpProtocol::Ipv6NoNext,
            60 => IpProtocol::Ipv6Opts,
            112 => IpProtocol::Vrrp,
            132 => IpProtocol::Sctp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Igmp => 2,
            IpProtocol::IpIp => 4,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6 => 41,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Gre => 47,
            IpProtocol::Esp => 50,
            IpProtocol::Ah => 51,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNext => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Vrrp => 112,
            IpProtocol::Sctp => 132,
            IpProtocol::Unknown(other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips() {
        for value in 0..=u8::MAX {
            assert_eq!(u8::from(IpProtocol::from(value)), value);
        }
        assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
        assert_eq!(IpProtocol::from(200), IpProtocol::Unknown(200));
    }

    #[test]
    fn unknown_never_shadows_a_named_value() {
        // A hand-made Unknown(6) would compare unequal to Tcp; from() never produces it.
        for value in 0..=u8::MAX {
            if let IpProtocol::Unknown(v) = IpProtocol::from(value) {
                assert_eq!(v, value);
                assert!(!matches!(
                    v,
                    0 | 1 | 2 | 4 | 6 | 17 | 41 | 43 | 44 | 47 | 50 | 51 | 58 | 59 | 60 | 112 | 132
                ));
            }
        }
    }
}
