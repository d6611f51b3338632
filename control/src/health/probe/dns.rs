//! DNS_CHECK: one query over UDP; healthy when an answer with our ID comes back with
//! RCODE NOERROR within connect_timeout (datagrams that are not answers are ignored).

use tokio::time::{Instant, timeout_at};

use super::Outcome;
use super::conn::{connect_udp, describe};
use super::dns_wire::{Reply, build_query, read_reply};
use crate::health::spec::ConnSpec;

pub async fn probe(conn: &ConnSpec, qtype: u16, name: &str) -> Outcome {
    let socket = match connect_udp(conn).await {
        Ok(s) => s,
        Err(reason) => return Outcome::fail(reason),
    };
    let id = fastrand::u16(..);
    let query = build_query(id, name, qtype);
    if let Err(e) = socket.send(&query).await {
        return Outcome::fail(format!("failed to write socket: {}", describe(&e)));
    }
    let deadline = Instant::now() + conn.timeout;
    let mut buf = [0u8; 768];
    loop {
        match timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Outcome::fail("read timeout from socket"),
            Ok(Err(e)) => return Outcome::fail(format!("failed to read socket: {}", describe(&e))),
            Ok(Ok(n)) => match read_reply(id, buf.get(..n).unwrap_or_default()) {
                Reply::Ignore => continue,
                Reply::Answer { rcode: 0 } => return Outcome::pass(),
                Reply::Answer { rcode } => {
                    return Outcome::fail(format!("read error occurred (rcode = {rcode})"));
                }
            },
        }
    }
}
