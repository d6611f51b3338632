//! The lab's own test servers (HTTP and UDP echo, `scripts/servers.py`) and the format of
//! their answers: each names itself and the client and local address the kernel gave it, so
//! a test can tell which real server answered and whether it saw the real client (DR, TUN,
//! NAT) or the director's local address (FULLNAT).

use std::net::SocketAddrV4;
use std::time::Duration;

use crate::cmd;
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::NodeId;
use crate::process::ProcessGuard;

/// How long a server gets to bind its socket.
const SERVER_START: Duration = Duration::from_secs(10);

/// What an echo server answered (HTTP body or UDP datagram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchoReply {
    /// The server's name (its node name unless chosen otherwise).
    pub server: String,
    /// The client address the server saw.
    pub client: SocketAddrV4,
    /// The local address the server was reached at (a VIP in DR/TUN).
    pub local: SocketAddrV4,
}

impl EchoReply {
    /// Parses `server=..`, `client=..`, `local=..` lines (other lines are ignored).
    pub fn parse(text: &str) -> Result<EchoReply> {
        let field = |key: &str| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.trim())
                .ok_or_else(|| LabError::parse("echo reply", text))
        };
        let addr = |key: &str| -> Result<SocketAddrV4> {
            field(key)?
                .parse()
                .map_err(|_| LabError::parse("echo reply address", text))
        };
        Ok(EchoReply {
            server: field("server")?.to_owned(),
            client: addr("client")?,
            local: addr("local")?,
        })
    }
}

impl Lab {
    /// Starts the HTTP echo server in `node` on 0.0.0.0:`port`, named after the node.
    /// `GET /bytes/N` answers N bytes; any other path answers an [`EchoReply`] body.
    pub fn http_server(&self, node: NodeId, port: u16) -> Result<ProcessGuard> {
        self.python_server("http", node, port)
    }

    /// Starts the UDP echo server in `node` on 0.0.0.0:`port`; it answers an [`EchoReply`]
    /// from the address the datagram was sent to.
    pub fn udp_echo(&self, node: NodeId, port: u16) -> Result<ProcessGuard> {
        self.python_server("udp", node, port)
    }

    fn python_server(&self, kind: &str, node: NodeId, port: u16) -> Result<ProcessGuard> {
        let name = format!("{kind}-{node}-{port}");
        let ready = self.work_file(&name, "ready");
        let args = [
            self.script("servers.py").to_string_lossy().into_owned(),
            kind.to_owned(),
            node.to_string(),
            port.to_string(),
            ready.to_string_lossy().into_owned(),
        ];
        let python = cmd::python()?;
        let mut guard = self.spawn(node, &name, &python.to_string_lossy(), &args)?;
        guard.wait_ready(
            &format!("{kind} server on port {port}"),
            SERVER_START,
            || ready.exists(),
        )?;
        Ok(guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn echo_replies_parse() {
        let text = "server=rs2\nclient=10.9.0.2:40000\nlocal=10.0.0.100:80\npath=/\n";
        let reply = EchoReply::parse(text).expect("parses");
        assert_eq!(reply.server, "rs2");
        assert_eq!(reply.client, "10.9.0.2:40000".parse().expect("addr"));
        assert_eq!(reply.local, "10.0.0.100:80".parse().expect("addr"));
        assert!(EchoReply::parse("server=rs1\nclient=nonsense\nlocal=1.2.3.4:5\n").is_err());
        assert!(EchoReply::parse("<html>").is_err());
    }

    proptest! {
        #[test]
        fn echo_parser_never_panics(text in "(server=|client=|local=|[a-z0-9.:=\n]){0,60}") {
            let _ = EchoReply::parse(&text);
        }
    }
}
