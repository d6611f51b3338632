//! `-Lc`: connection entries, as ipvsadm's `list_conn` and `print_conn` print them, and
//! `--timeout`.

use std::fmt::Write as _;

use proto::{ConnInfo, Timeouts};

use super::{Format, addrport};
use crate::names::Names;

/// ipvsadm's `list_conn`. A FULLNAT entry carries one more column than ipvsadm knows:
/// the local address and port the director used towards the real server.
pub fn list_conns(conns: &[ConnInfo], fmt: &Format, names: &dyn Names) -> String {
    if !fmt.numeric {
        let addrs: Vec<_> = conns
            .iter()
            .flat_map(|c| {
                [c.client.ip(), c.virtual_addr.ip(), c.dest.ip()]
                    .into_iter()
                    .chain(c.local.map(|l| l.ip()))
            })
            .collect();
        names.prefetch(&addrs);
    }
    let mut out = String::from("IPVS connection entries\n");
    if fmt.persistent_conn {
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} pe_data",
            "state", "source", "virtual", "destination", "pe name"
        );
    } else {
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} destination",
            "state", "source", "virtual"
        );
    }
    for c in conns {
        let name =
            |a: std::net::SocketAddr| addrport(a.ip(), a.port(), c.protocol, fmt.numeric, names);
        let expire = format!("{:02}:{:02}", c.expires / 60, c.expires % 60);
        let protocol = c.protocol.to_string();
        let _ = write!(
            out,
            "{protocol:<3} {expire:<6} {:<11} {:<18} {:<18} ",
            c.state,
            name(c.client),
            name(c.virtual_addr)
        );
        match c.local {
            None => {
                let _ = writeln!(out, "{}", name(c.dest));
            }
            Some(local) => {
                let _ = writeln!(out, "{:<18} {}", name(c.dest), name(local));
            }
        }
    }
    out
}

/// `-L --timeout`.
pub fn timeouts(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp, t.tcp_fin, t.udp
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;
    use proto::Protocol;

    #[test]
    fn entries_as_ipvsadm_prints_them() {
        let conns = vec![
            ConnInfo {
                protocol: Protocol::Tcp,
                client: "192.0.2.1:51000".parse().unwrap(),
                virtual_addr: "10.0.0.1:80".parse().unwrap(),
                dest: "10.0.1.1:80".parse().unwrap(),
                local: None,
                state: "ESTABLISHED".into(),
                expires: 899,
                template: false,
            },
            ConnInfo {
                protocol: Protocol::Tcp,
                client: "192.0.2.2:51001".parse().unwrap(),
                virtual_addr: "10.0.0.1:80".parse().unwrap(),
                dest: "10.0.1.2:80".parse().unwrap(),
                local: Some("10.0.2.1:1025".parse().unwrap()),
                state: "SYN_RECV".into(),
                expires: 6000,
                template: false,
            },
        ];
        let fmt = Format {
            numeric: false,
            ..Format::default()
        };
        assert_eq!(
            list_conns(&conns, &fmt, &FixedNames::default()),
            "IPVS connection entries\n\
             pro expire state       source             virtual            destination\n\
             TCP 14:59  ESTABLISHED www.example.org:51000 10.0.0.1:http      10.0.1.1:http\n\
             TCP 100:00 SYN_RECV    192.0.2.2:51001    10.0.0.1:http      10.0.1.2:http      10.0.2.1:1025\n"
        );
        assert_eq!(
            timeouts(&Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300
            }),
            "Timeout (tcp tcpfin udp): 900 120 300\n"
        );
    }
}
