//! UDP_CHECK: send the payload on a connected socket; an ICMP port unreachable
//! (ECONNREFUSED) fails the check; with require_reply an answer must arrive within
//! connect_timeout and start with the expected bytes; without it, silence is success.

use tokio::time::timeout;

use super::Outcome;
use super::conn::{connect_udp, describe};
use crate::health::spec::ConnSpec;

/// keepalived's default `max_reply_length`: longer replies fail a require_reply check
/// that has expected data.
pub const MAX_REPLY: usize = 255;

/// Whether a reply matches: no longer than [`MAX_REPLY`], and its first
/// `min(len, expected.len())` bytes equal the expected ones (check_udp.c `check_udp_reply`).
pub fn reply_matches(reply: &[u8], expected: &[u8]) -> bool {
    reply.len() <= MAX_REPLY && reply.iter().zip(expected).all(|(a, b)| a == b)
}

pub async fn probe(conn: &ConnSpec, payload: &[u8], require_reply: Option<&[u8]>) -> Outcome {
    let socket = match connect_udp(conn).await {
        Ok(s) => s,
        Err(reason) => return Outcome::fail(reason),
    };
    if let Err(e) = socket.send(payload).await {
        return Outcome::fail(format!("send failed: {}", describe(&e)));
    }
    let mut buf = [0u8; MAX_REPLY + 1];
    match timeout(conn.timeout, socket.recv(&mut buf)).await {
        Err(_) if require_reply.is_some() => Outcome::fail("no reply"),
        Err(_) => Outcome::pass(),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Outcome::fail("port unreachable (ICMP)")
        }
        Ok(Err(e)) => Outcome::fail(format!("receive failed: {}", describe(&e))),
        Ok(Ok(n)) => match require_reply {
            Some(expected) if !expected.is_empty() => {
                if reply_matches(buf.get(..n).unwrap_or_default(), expected) {
                    Outcome::pass()
                } else {
                    Outcome::fail("reply data mismatch")
                }
            }
            _ => Outcome::pass(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_matching_compares_the_common_prefix() {
        assert!(reply_matches(b"PONG", b"PONG"));
        assert!(reply_matches(b"PONG extra", b"PONG"));
        assert!(reply_matches(b"PO", b"PONG"));
        assert!(!reply_matches(b"PING", b"PONG"));
        assert!(!reply_matches(&[b'P'; 256], b"P"));
    }
}
