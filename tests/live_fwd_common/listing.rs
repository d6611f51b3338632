//! Reading rvsadm's listings back into numbers: `-Ln --stats --exact` (per service and
//! real server counters) and `-Lnc` (the connection entries). The layouts are ipvsadm's;
//! a line that does not fit is an error with the whole listing, never a silent skip.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;

/// IPVS's five cumulative counters of one service or real server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// A service as listed: `TCP`/`UDP` and its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceKey {
    pub proto: Proto,
    pub vip: SocketAddrV4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn parse(word: &str) -> Option<Proto> {
        match word {
            "TCP" => Some(Proto::Tcp),
            "UDP" => Some(Proto::Udp),
            _ => None,
        }
    }

    /// ipvsadm's option for a service of this protocol.
    pub fn flag(self) -> &'static str {
        match self {
            Proto::Tcp => "-t",
            Proto::Udp => "-u",
        }
    }
}

/// `-Ln --stats --exact`: each service's counters and its real servers' counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsListing {
    pub services: BTreeMap<ServiceKey, Counters>,
    pub servers: BTreeMap<(ServiceKey, SocketAddrV4), Counters>,
}

fn counters(words: &[&str]) -> Option<Counters> {
    let n: Vec<u64> = words
        .iter()
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    let [conns, inpkts, outpkts, inbytes, outbytes] = n.as_slice() else {
        return None;
    };
    Some(Counters {
        conns: *conns,
        inpkts: *inpkts,
        outpkts: *outpkts,
        inbytes: *inbytes,
        outbytes: *outbytes,
    })
}

/// Parses `rvsadm -Ln --stats --exact`.
pub fn parse_stats(text: &str) -> Result<StatsListing, String> {
    let bad = |line: &str| format!("unexpected line {line:?} in\n{text}");
    let mut listing = StatsListing::default();
    let mut current: Option<ServiceKey> = None;
    for line in text.lines().skip(3) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["->", addr, rest @ ..] => {
                let service = current.ok_or_else(|| bad(line))?;
                let addr: SocketAddrV4 = addr.parse().map_err(|_| bad(line))?;
                let c = counters(rest).ok_or_else(|| bad(line))?;
                listing.servers.insert((service, addr), c);
            }
            [proto, addr, rest @ ..] => {
                let key = ServiceKey {
                    proto: Proto::parse(proto).ok_or_else(|| bad(line))?,
                    vip: addr.parse().map_err(|_| bad(line))?,
                };
                listing
                    .services
                    .insert(key, counters(rest).ok_or_else(|| bad(line))?);
                current = Some(key);
            }
            _ => return Err(bad(line)),
        }
    }
    Ok(listing)
}

/// The entries where `listed` and `want` differ, one per line: what rvsadm listed, then
/// what was expected.
pub fn differences(listed: &StatsListing, want: &StatsListing) -> String {
    let mut lines = Vec::new();
    let mut compare = |name: String, l: Option<&Counters>, w: Option<&Counters>| {
        if l != w {
            lines.push(format!("{name}\n  listed   {l:?}\n  expected {w:?}"));
        }
    };
    let services = listed.services.keys().chain(want.services.keys());
    for key in services.collect::<std::collections::BTreeSet<_>>() {
        compare(
            format!("{:?} {}", key.proto, key.vip),
            listed.services.get(key),
            want.services.get(key),
        );
    }
    let servers = listed.servers.keys().chain(want.servers.keys());
    for key in servers.collect::<std::collections::BTreeSet<_>>() {
        compare(
            format!("{:?} {} -> {}", key.0.proto, key.0.vip, key.1),
            listed.servers.get(key),
            want.servers.get(key),
        );
    }
    lines.join("\n")
}

/// One line of `-Lnc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnEntry {
    pub proto: Proto,
    pub state: String,
    pub client: SocketAddrV4,
    pub vip: SocketAddrV4,
    pub dest: SocketAddrV4,
    /// FULLNAT: the local address and port towards the real server.
    pub local: Option<SocketAddrV4>,
}

/// Parses `rvsadm -Lnc`. Persistence templates (`--persistent-conn`) are entries too; they
/// are the ones with client port 0.
pub fn parse_conns(text: &str) -> Result<Vec<ConnEntry>, String> {
    let bad = |line: &str| format!("unexpected line {line:?} in\n{text}");
    text.lines()
        .skip(2)
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let addr = |i: usize| -> Result<SocketAddrV4, String> {
                words
                    .get(i)
                    .and_then(|w| w.parse().ok())
                    .ok_or_else(|| bad(line))
            };
            Ok(ConnEntry {
                proto: words
                    .first()
                    .and_then(|w| Proto::parse(w))
                    .ok_or_else(|| bad(line))?,
                state: words.get(2).ok_or_else(|| bad(line))?.to_string(),
                client: addr(3)?,
                vip: addr(4)?,
                dest: addr(5)?,
                local: words.get(6).map(|_| addr(6)).transpose()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_listing_reads_back() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\n\
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n\
  -> RemoteAddress:Port\n\
TCP  10.0.0.100:80                       4       28        0     1784        0\n\
  -> 10.0.0.11:80                        2       14        0      892        0\n\
UDP  10.0.0.100:53                       1        1        1       30       80\n";
        let l = parse_stats(text).expect("parses");
        let tcp = ServiceKey {
            proto: Proto::Tcp,
            vip: "10.0.0.100:80".parse().expect("addr"),
        };
        assert_eq!(l.services[&tcp].inbytes, 1784);
        assert_eq!(
            l.servers[&(tcp, "10.0.0.11:80".parse().expect("addr"))].inpkts,
            14
        );
        assert_eq!(l.services.len(), 2);
        assert!(parse_stats(&format!("{text}  -> 10.0.0.12:80 1 2 3\n")).is_err());
    }

    #[test]
    fn differences_name_only_what_differs() {
        let text = "IP Virtual Server version 1.2.1 (size=4096)\nProt ...\n  -> ...\n\
TCP  10.0.0.100:80 4 28 0 1784 0\n  -> 10.0.0.11:80 2 14 0 892 0\n  -> 10.0.0.12:80 2 14 0 892 0\n";
        let listed = parse_stats(text).expect("parses");
        let mut want = listed.clone();
        assert_eq!(differences(&listed, &want), "");
        if let Some(c) = want.servers.values_mut().next() {
            c.inbytes += 1;
        }
        let diff = differences(&listed, &want);
        assert_eq!(diff.lines().count(), 3, "{diff}");
        assert!(
            diff.starts_with("Tcp 10.0.0.100:80 -> 10.0.0.11:80\n"),
            "{diff}"
        );
    }

    #[test]
    fn connection_listing_reads_back() {
        let text = "IPVS connection entries\n\
pro expire state       source             virtual            destination\n\
TCP 01:59  FIN_WAIT    10.9.0.2:59842     10.0.0.100:80      10.0.0.12:80\n\
UDP 04:59  UDP         10.9.0.2:5000      10.0.0.100:53      10.0.0.11:5353     10.0.0.200:1024\n";
        let c = parse_conns(text).expect("parses");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].state, "FIN_WAIT");
        assert_eq!(c[0].local, None);
        assert_eq!(c[1].local, Some("10.0.0.200:1024".parse().expect("addr")));
        assert!(parse_conns("a\nb\nTCP 01:59 X nonsense\n").is_err());
    }
}
