//! Idle timeouts per protocol state, IPVS's defaults, and `ipvsadm --set`.
//!
//! Defaults are the kernel's `tcp_timeouts` and `udp_timeouts` (ip_vs_proto_tcp.c,
//! ip_vs_proto_udp.c). Note that the kernel gives TCP NONE two *seconds*, not minutes: an
//! entry that never sees a packet after creation goes quickly. Linux IPVS does not track ICMP
//! echo at all; rvs does (like DPVS) and gives it one minute.

use super::tcp::{TCP_STATE_COUNT, TcpState};

/// Timeouts in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Per TCP state, indexed by [`TcpState::index`].
    pub tcp: [u32; TCP_STATE_COUNT],
    pub udp: u32,
    pub icmp: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        let mut tcp = [0; TCP_STATE_COUNT];
        for state in TcpState::ALL {
            tcp[state.index()] = match state {
                TcpState::None => 2,
                TcpState::Established => 15 * 60,
                TcpState::SynSent => 2 * 60,
                TcpState::SynRecv => 60,
                TcpState::FinWait => 2 * 60,
                TcpState::TimeWait => 2 * 60,
                TcpState::Close => 10,
                TcpState::CloseWait => 60,
                TcpState::LastAck => 30,
                TcpState::Listen => 2 * 60,
                TcpState::Synack => 120,
            };
        }
        Timeouts {
            tcp,
            udp: 5 * 60,
            icmp: 60,
        }
    }
}

impl Timeouts {
    /// The timeout of a TCP state.
    #[inline]
    pub fn tcp_state(&self, state: TcpState) -> u32 {
        // In range: TcpState discriminants are 0..TCP_STATE_COUNT.
        self.tcp[state.index()]
    }

    /// `ipvsadm --set tcp tcpfin udp`: sets the ESTABLISHED, FIN_WAIT and UDP timeouts; a zero
    /// leaves that value as it is (ipvsadm's and the kernel's convention).
    pub fn set_ipvsadm(&mut self, tcp: u32, tcp_fin: u32, udp: u32) {
        if tcp != 0 {
            self.tcp[TcpState::Established.index()] = tcp;
        }
        if tcp_fin != 0 {
            self.tcp[TcpState::FinWait.index()] = tcp_fin;
        }
        if udp != 0 {
            self.udp = udp;
        }
    }

    /// The three values `ipvsadm -L --timeout` prints: (tcp, tcpfin, udp).
    pub fn ipvsadm_triplet(&self) -> (u32, u32, u32) {
        (
            self.tcp_state(TcpState::Established),
            self.tcp_state(TcpState::FinWait),
            self.udp,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_kernels() {
        let t = Timeouts::default();
        let expected = [
            (TcpState::None, 2),
            (TcpState::Established, 900),
            (TcpState::SynSent, 120),
            (TcpState::SynRecv, 60),
            (TcpState::FinWait, 120),
            (TcpState::TimeWait, 120),
            (TcpState::Close, 10),
            (TcpState::CloseWait, 60),
            (TcpState::LastAck, 30),
            (TcpState::Listen, 120),
            (TcpState::Synack, 120),
        ];
        for (state, secs) in expected {
            assert_eq!(t.tcp_state(state), secs, "{state:?}");
        }
        assert_eq!(t.udp, 300);
        assert_eq!(t.icmp, 60);
        assert_eq!(t.ipvsadm_triplet(), (900, 120, 300));
    }

    #[test]
    fn set_overrides_established_finwait_udp_and_zero_keeps() {
        let mut t = Timeouts::default();
        t.set_ipvsadm(3600, 30, 0);
        assert_eq!(t.ipvsadm_triplet(), (3600, 30, 300));
        // Nothing else moves: TIME_WAIT is not "tcpfin".
        assert_eq!(t.tcp_state(TcpState::TimeWait), 120);
        assert_eq!(t.tcp_state(TcpState::CloseWait), 60);
        t.set_ipvsadm(0, 0, 45);
        assert_eq!(t.ipvsadm_triplet(), (3600, 30, 45));
    }
}
