//! Persistence templates: which key a persistent service's template has, and which ports go
//! where, by IPVS's rules (`ip_vs_sched_persist` in net/netfilter/ipvs/ip_vs_core.c).
//!
//! A template remembers "this client network was sent to that real server" for the
//! service's persistence timeout. It is keyed by
//! `<protocol, client address & netmask, 0, VIP, template port>` where the template port is
//! the packet's destination port when it is the service's own port, and 0 when the service is
//! a port-0 ("all ports") service or the FTP control port, so that one template covers every
//! port (FTP data connections included). Each connection created under a template "controls"
//! it: the template counts them, and a template whose timer fires while it still controls
//! connections is re-armed for [`TEMPLATE_REARM_SECS`] instead of being freed
//! (`ip_vs_conn_expire`). Creating a connection under a template restarts the template's
//! timer with the template's current timeout.

use super::addr::ConnAddr;
use super::key::{FlowKey, Proto};

/// IPVS treats the FTP control port specially in persistent services.
pub const FTP_PORT: u16 = 21;

/// The timeout a template gets when its timer fires while it still controls connections
/// (`cp->timeout = 60*HZ` in `ip_vs_conn_expire`). It stays the template's timeout from then
/// on, as in IPVS.
pub const TEMPLATE_REARM_SECS: u32 = 60;

/// The lookup key of a persistence template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateKey<A> {
    pub proto: Proto,
    /// Client address masked with the service's persistence netmask.
    pub client_net: A,
    pub vaddr: A,
    /// The template port (see [`TemplateKey::for_packet`]).
    pub vport: u16,
}

impl<A: ConnAddr> TemplateKey<A> {
    /// The template key for a packet from `client` to `vaddr:dst_port` arriving at a
    /// persistent service listening on `svc_port` (0 for a port-0 service), with persistence
    /// netmask `prefix_len` (32 or 128 = per client address).
    pub fn for_packet(
        proto: Proto,
        client: A,
        prefix_len: u8,
        vaddr: A,
        dst_port: u16,
        svc_port: u16,
    ) -> Self {
        let vport = if dst_port == svc_port && svc_port != FTP_PORT {
            dst_port
        } else {
            0
        };
        TemplateKey {
            proto,
            client_net: client.masked(prefix_len),
            vaddr,
            vport,
        }
    }

    /// The template's key as the index stores it: client port 0.
    pub(crate) fn flow(&self) -> FlowKey<A> {
        FlowKey::new(self.proto, self.client_net, 0, self.vaddr, self.vport)
    }
}

/// The destination port a new template records: the real server's port when the packet went
/// to the service's own (non-FTP) port, else 0.
pub fn template_dest_port(dst_port: u16, svc_port: u16, dest_port: u16) -> u16 {
    if dst_port == svc_port && svc_port != FTP_PORT {
        dest_port
    } else {
        0
    }
}

/// The port a connection created under a template is forwarded to: the destination's
/// configured port when the packet went to the service's own port and the destination has
/// one, else the packet's own destination port (port-0 services keep the client's port).
pub fn conn_dest_port(dst_port: u16, svc_port: u16, dest_port: u16) -> u16 {
    if dst_port == svc_port && dest_port != 0 {
        dest_port
    } else {
        dst_port
    }
}

/// A template to insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewTemplate<A> {
    pub key: TemplateKey<A>,
    /// The real server chosen by the scheduler.
    pub raddr: A,
    /// [`template_dest_port`].
    pub rport: u16,
    pub dest_id: u32,
    pub svc_id: u32,
    /// The service's persistence timeout.
    pub timeout_secs: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 77);
    const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    #[test]
    fn port_service_keys_on_its_port() {
        let k = TemplateKey::for_packet(Proto::Tcp, CLIENT, 32, VIP, 443, 443);
        assert_eq!(k.vport, 443);
        assert_eq!(k.client_net, CLIENT);
        assert_eq!(template_dest_port(443, 443, 8443), 8443);
        assert_eq!(conn_dest_port(443, 443, 8443), 8443);
    }

    #[test]
    fn port_zero_service_keys_on_zero_and_keeps_the_clients_port() {
        let k = TemplateKey::for_packet(Proto::Tcp, CLIENT, 24, VIP, 8080, 0);
        assert_eq!(k.vport, 0);
        assert_eq!(k.client_net, Ipv4Addr::new(192, 0, 2, 0));
        assert_eq!(template_dest_port(8080, 0, 0), 0);
        assert_eq!(conn_dest_port(8080, 0, 0), 8080);
    }

    #[test]
    fn ftp_templates_cover_every_port() {
        let k = TemplateKey::for_packet(Proto::Tcp, CLIENT, 32, VIP, 21, 21);
        assert_eq!(k.vport, 0);
        assert_eq!(template_dest_port(21, 21, 21), 0);
        // The control connection still goes to the destination's port ...
        assert_eq!(conn_dest_port(21, 21, 2121), 2121);
        // ... and a passive data connection (to another port, matched by a port-0 service
        // or firewall mark in IPVS) keeps its own port.
        assert_eq!(conn_dest_port(30000, 21, 2121), 30000);
    }

    #[test]
    fn template_flow_key_has_client_port_zero() {
        let k = TemplateKey::for_packet(Proto::Udp, CLIENT, 32, VIP, 53, 53);
        let f = k.flow();
        assert_eq!((f.sport, f.dport, f.proto), (0, 53, Proto::Udp));
    }
}
