//! The IPVS TCP state machine.
//!
//! IPVS does not track TCP exactly; it keeps a coarse state per connection, chosen from three
//! transition tables (packets from the client, packets from the real server, and client
//! packets of a connection whose replies bypass the director) indexed by the one flag that
//! matters most in the packet (RST, then SYN, then FIN, then ACK). The state picks the idle
//! timeout and whether the connection counts as active for the lc/wlc family of schedulers.
//! Operators compare `ipvsadm -Lnc` and the ActiveConn/InActConn columns with what LVS shows,
//! so the tables here are the kernel's (net/netfilter/ipvs/ip_vs_proto_tcp.c, `tcp_states`,
//! as in Linux 4.8 and later: an ACK on a NONE entry moves it to ESTABLISHED, and
//! SYN_SENT/SYN_RECV/SYNACK count as active). The "secure_tcp" defence tables are not
//! implemented.

use super::key::TcpFlags;

/// The IPVS TCP states, in the kernel's order (the numbers matter only inside this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    None = 0,
    Established,
    SynSent,
    SynRecv,
    FinWait,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Synack,
}

/// Number of TCP states.
pub const TCP_STATE_COUNT: usize = 11;

impl TcpState {
    /// Every state, in the kernel's order.
    pub const ALL: [TcpState; TCP_STATE_COUNT] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Synack,
    ];

    /// The name IPVS prints (`ipvsadm -Lnc`, /proc/net/ip_vs_conn).
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Synack => "SYNACK",
        }
    }

    /// Position in [`TcpState::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether a connection in this state counts in the destination's ActiveConn (the
    /// kernel's `tcp_state_active_table`); every other state counts in InActConn.
    #[inline]
    pub fn is_active(self) -> bool {
        matches!(
            self,
            TcpState::Established | TcpState::SynSent | TcpState::SynRecv | TcpState::Synack
        )
    }
}

/// Which transition table a packet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpDir {
    /// From the client, on a connection whose replies pass through the director (NAT,
    /// FULLNAT, or DR/TUN once a reply has been seen).
    Input,
    /// From the real server.
    Output,
    /// From the client, on a connection whose replies have not been seen (DR, TUN).
    InputOnly,
}

/// The row of a table a packet selects: the kernel's `tcp_state_idx`. `None` when the packet
/// carries none of RST, SYN, FIN, ACK.
#[inline]
fn flag_row(flags: TcpFlags) -> Option<usize> {
    if flags.contains(TcpFlags::RST) {
        Some(3)
    } else if flags.contains(TcpFlags::SYN) {
        Some(0)
    } else if flags.contains(TcpFlags::FIN) {
        Some(1)
    } else if flags.contains(TcpFlags::ACK) {
        Some(2)
    } else {
        None
    }
}

use TcpState::{
    Close as CL, CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA, Listen as LI,
    SynRecv as SR, SynSent as SS, TimeWait as TW,
};

type Table = [[TcpState; TCP_STATE_COUNT]; 4];

// Rows: SYN, FIN, ACK, RST. Columns: the current state in kernel order
//            NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
const INPUT: Table = [
    [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
    [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
];
const OUTPUT: Table = [
    [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
    [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
    [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
    [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
];
const INPUT_ONLY: Table = [
    [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
    [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
];

/// The state after a packet with `flags` in direction `dir` (the kernel's `set_tcp_state`).
/// A packet with none of RST/SYN/FIN/ACK moves the connection to CLOSE, as in the kernel.
#[inline]
pub fn next_state(current: TcpState, dir: TcpDir, flags: TcpFlags) -> TcpState {
    let table = match dir {
        TcpDir::Input => &INPUT,
        TcpDir::Output => &OUTPUT,
        TcpDir::InputOnly => &INPUT_ONLY,
    };
    match flag_row(flags) {
        // Both indices are in range by construction: the row is 0..4 and the state's
        // discriminant is 0..TCP_STATE_COUNT.
        Some(row) => table[row][current.index()],
        None => TcpState::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TcpState::{None as NO, Synack as SA};

    /// The kernel's tables exactly as they are printed in ip_vs_proto_tcp.c (Linux 6.x),
    /// transcribed as text and parsed here, so the const tables above are checked against an
    /// independent copy rather than against themselves.
    const KERNEL_TEXT: &str = "
/*	INPUT */
/*        sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA	*/
/*syn*/ {{sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR }},
/*fin*/ {{sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW }},
/*ack*/ {{sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES }},
/*rst*/ {{sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR }},
/*	OUTPUT */
/*        sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA	*/
/*syn*/ {{sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR }},
/*fin*/ {{sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW }},
/*ack*/ {{sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES }},
/*rst*/ {{sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL }},
/*	INPUT-ONLY */
/*        sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA	*/
/*syn*/ {{sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR }},
/*fin*/ {{sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW }},
/*ack*/ {{sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES }},
/*rst*/ {{sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL }},
";

    fn parse_state(token: &str) -> TcpState {
        match token.trim() {
            "sNO" => TcpState::None,
            "sES" => TcpState::Established,
            "sSS" => TcpState::SynSent,
            "sSR" => TcpState::SynRecv,
            "sFW" => TcpState::FinWait,
            "sTW" => TcpState::TimeWait,
            "sCL" => TcpState::Close,
            "sCW" => TcpState::CloseWait,
            "sLA" => TcpState::LastAck,
            "sLI" => TcpState::Listen,
            "sSA" => TcpState::Synack,
            other => panic!("unknown state token {other:?}"),
        }
    }

    /// (table, flag name, row of next states) for the 12 rows of the kernel text.
    fn kernel_rows() -> Vec<(TcpDir, &'static str, Vec<TcpState>)> {
        let dirs = [TcpDir::Input, TcpDir::Output, TcpDir::InputOnly];
        let rows: Vec<&str> = KERNEL_TEXT
            .lines()
            .filter(|l| {
                l.starts_with("/*syn*/")
                    || l.starts_with("/*fin*/")
                    || l.starts_with("/*ack*/")
                    || l.starts_with("/*rst*/")
            })
            .collect();
        assert_eq!(rows.len(), 12);
        rows.iter()
            .enumerate()
            .map(|(i, line)| {
                let flag = &line[2..5];
                let inner = line
                    .split("{{")
                    .nth(1)
                    .and_then(|r| r.split("}}").next())
                    .expect("row braces");
                let states: Vec<TcpState> = inner.split(',').map(parse_state).collect();
                assert_eq!(states.len(), TCP_STATE_COUNT);
                (dirs[i / 4], flag, states)
            })
            .collect()
    }

    fn flags_for(name: &str) -> TcpFlags {
        match name {
            "syn" => TcpFlags::SYN,
            "fin" => TcpFlags::FIN,
            "ack" => TcpFlags::ACK,
            "rst" => TcpFlags::RST,
            other => panic!("unknown flag row {other}"),
        }
    }

    fn check_table(dir: TcpDir) {
        let mut checked = 0;
        for (d, flag, row) in kernel_rows() {
            if d != dir {
                continue;
            }
            for (from, expected) in TcpState::ALL.iter().zip(row.iter()) {
                assert_eq!(
                    next_state(*from, dir, flags_for(flag)),
                    *expected,
                    "{dir:?} {flag} from {from:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 4 * TCP_STATE_COUNT);
    }

    #[test]
    fn input_table_is_the_kernels() {
        check_table(TcpDir::Input);
    }

    #[test]
    fn output_table_is_the_kernels() {
        check_table(TcpDir::Output);
    }

    #[test]
    fn input_only_table_is_the_kernels() {
        check_table(TcpDir::InputOnly);
    }

    #[test]
    fn flag_priority_is_rst_syn_fin_ack() {
        let all = TcpFlags::RST | TcpFlags::SYN | TcpFlags::FIN | TcpFlags::ACK;
        // RST wins: ESTABLISHED + RST (input) -> CLOSE, where SYN would keep ESTABLISHED.
        assert_eq!(next_state(ES, TcpDir::Input, all), CL);
        // SYN beats FIN and ACK: NONE + SYN|FIN|ACK -> SYN_RECV.
        let syn_fin_ack = TcpFlags::SYN | TcpFlags::FIN | TcpFlags::ACK;
        assert_eq!(next_state(NO, TcpDir::Input, syn_fin_ack), SR);
        // FIN beats ACK: ESTABLISHED + FIN|ACK (input) -> CLOSE_WAIT, ACK alone stays.
        assert_eq!(
            next_state(ES, TcpDir::Input, TcpFlags::FIN | TcpFlags::ACK),
            CW
        );
        assert_eq!(next_state(ES, TcpDir::Input, TcpFlags::ACK), ES);
        // PSH and URG do not select a row.
        assert_eq!(
            next_state(ES, TcpDir::Input, TcpFlags::PSH | TcpFlags::ACK),
            ES
        );
    }

    #[test]
    fn no_known_flag_closes() {
        for s in TcpState::ALL {
            for d in [TcpDir::Input, TcpDir::Output, TcpDir::InputOnly] {
                assert_eq!(next_state(s, d, TcpFlags::NONE), CL);
                assert_eq!(next_state(s, d, TcpFlags::PSH), CL);
            }
        }
    }

    #[test]
    fn a_nat_handshake_and_close_walks_the_expected_states() {
        // Client SYN, server SYN+ACK, client ACK, client FIN, server FIN, client ACK.
        let mut s = NO;
        let steps = [
            (TcpDir::Input, TcpFlags::SYN, SR),
            (TcpDir::Output, TcpFlags::SYN | TcpFlags::ACK, SR),
            (TcpDir::Input, TcpFlags::ACK, ES),
            (TcpDir::Input, TcpFlags::FIN | TcpFlags::ACK, CW),
            (TcpDir::Output, TcpFlags::FIN | TcpFlags::ACK, TW),
            (TcpDir::Input, TcpFlags::ACK, TW),
        ];
        for (dir, flags, expected) in steps {
            s = next_state(s, dir, flags);
            assert_eq!(s, expected, "{dir:?} {flags:?}");
        }
    }

    #[test]
    fn names_and_activity_are_the_kernels() {
        let names: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "NONE",
                "ESTABLISHED",
                "SYN_SENT",
                "SYN_RECV",
                "FIN_WAIT",
                "TIME_WAIT",
                "CLOSE",
                "CLOSE_WAIT",
                "LAST_ACK",
                "LISTEN",
                "SYNACK"
            ]
        );
        let active: Vec<TcpState> = TcpState::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .collect();
        assert_eq!(active, [ES, SS, SR, SA]);
    }
}
