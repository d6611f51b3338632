//! What the client sent and received, counted from a capture on the client's own interface,
//! turned into the counters `rvsadm -Ln --stats --exact` must show.
//!
//! IPVS counts, per service and real server: connections, packets and bytes *in* (client to
//! server) and *out* (server to client, only when replies cross the director: NAT and
//! FULLNAT). A packet's bytes are its IPv4 total length as it arrived at the director, before
//! any rewrite; on veths and a router that does not change lengths, that is the length the
//! client's capture shows. Which real server a flow went to is read from `-Lnc` (the
//! director's own connection table), and the echo servers' answers are checked against that
//! table separately, so a table that lied would fail there.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::listing::{ConnEntry, Counters, Proto, ServiceKey, StatsListing};
use super::packet;

/// One client flow: the service and the client's port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    pub service: ServiceKey,
    pub client_port: u16,
}

/// Packets and bytes of each flow, both ways.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub flows: BTreeMap<Flow, Counters>,
}

impl Ledger {
    /// Counts the TCP and UDP packets between `client` and each of `services` in `frames`.
    pub fn from_capture(frames: &[Vec<u8>], client: Ipv4Addr, services: &[ServiceKey]) -> Ledger {
        let mut ledger = Ledger::default();
        for bytes in frames {
            let Some(f) = packet::frame(bytes) else {
                continue;
            };
            let Some((sport, dport)) = f.ip.ports() else {
                continue;
            };
            let proto = match f.ip.proto {
                packet::PROTO_TCP => Proto::Tcp,
                _ => Proto::Udp,
            };
            let len = u64::from(f.ip.total_len);
            for service in services.iter().filter(|s| s.proto == proto) {
                let vip = service.vip;
                if f.ip.src == client && f.ip.dst == *vip.ip() && dport == vip.port() {
                    let c = ledger.flow(*service, sport);
                    c.inpkts += 1;
                    c.inbytes += len;
                } else if f.ip.dst == client && f.ip.src == *vip.ip() && sport == vip.port() {
                    let c = ledger.flow(*service, dport);
                    c.outpkts += 1;
                    c.outbytes += len;
                }
            }
        }
        ledger
    }

    fn flow(&mut self, service: ServiceKey, client_port: u16) -> &mut Counters {
        let c = self.flows.entry(Flow {
            service,
            client_port,
        });
        c.or_insert(Counters {
            conns: 1,
            ..Counters::default()
        })
    }

    /// Packets the client sent to the services.
    pub fn sent_packets(&self) -> u64 {
        self.flows.values().map(|c| c.inpkts).sum()
    }

    /// Packets the client received from the services.
    pub fn received_packets(&self) -> u64 {
        self.flows.values().map(|c| c.outpkts).sum()
    }

    /// The listing rvs must show for these flows: every service and real server of
    /// `listed` (whose numbers are ignored; only its keys matter) with the counts of the
    /// flows the connection table `conns` puts there. Out counts only when
    /// `replies_cross_director`. A flow the table does not know, or that it puts on a real
    /// server the listing does not have, is an error.
    pub fn expected(
        &self,
        listed: &StatsListing,
        conns: &[ConnEntry],
        replies_cross_director: bool,
    ) -> Result<StatsListing, String> {
        let mut want = StatsListing {
            services: listed
                .services
                .keys()
                .map(|k| (*k, Counters::default()))
                .collect(),
            servers: listed
                .servers
                .keys()
                .map(|k| (*k, Counters::default()))
                .collect(),
        };
        for (flow, c) in &self.flows {
            let entry = conns
                .iter()
                .find(|e| {
                    e.proto == flow.service.proto
                        && e.vip == flow.service.vip
                        && e.client.port() == flow.client_port
                })
                .ok_or_else(|| format!("{flow:?} is not in the connection table"))?;
            let mut c = *c;
            if !replies_cross_director {
                c.outpkts = 0;
                c.outbytes = 0;
            }
            let add = |into: Option<&mut Counters>, what: &str| match into {
                Some(into) => {
                    into.conns += c.conns;
                    into.inpkts += c.inpkts;
                    into.outpkts += c.outpkts;
                    into.inbytes += c.inbytes;
                    into.outbytes += c.outbytes;
                    Ok(())
                }
                None => Err(format!("{flow:?} went to {what}, which is not listed")),
            };
            add(want.services.get_mut(&flow.service), "its service")?;
            add(
                want.servers.get_mut(&(flow.service, entry.dest)),
                &entry.dest.to_string(),
            )?;
        }
        Ok(want)
    }
}

/// The real server `-Lnc` says the flow of `client_port` to `service` went to.
pub fn dest_of(conns: &[ConnEntry], service: ServiceKey, client_port: u16) -> Option<SocketAddrV4> {
    conns
        .iter()
        .find(|e| {
            e.proto == service.proto && e.vip == service.vip && e.client.port() == client_port
        })
        .map(|e| e.dest)
}
