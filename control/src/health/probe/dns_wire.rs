//! The DNS codec DNS_CHECK needs: build one query, read one response header.
//!
//! Written by hand because the check needs a single query message and the response's ID,
//! QR bit and RCODE, which is a dozen lines; a resolver crate would bring its own sockets,
//! retries and caching that keepalived's semantics do not have. The response side is a
//! parser of untrusted bytes and is property-tested never to panic.

/// Query types DNS_CHECK knows (keepalived's list).
const TYPES: [(&str, u16); 9] = [
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("RRSIG", 46),
    ("DNSKEY", 48),
];

/// The numeric type of a query type name (case-insensitive).
pub fn qtype_from_name(name: &str) -> Option<u16> {
    TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, t)| t)
}

/// Validates a query name: `.` for the root, otherwise labels of 1..=63 bytes separated by
/// dots (an optional final dot), at most 253 bytes.
pub fn check_name(name: &str) -> Result<(), String> {
    if name == "." {
        return Ok(());
    }
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Err(format!("invalid DNS name {name:?}"));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(format!("DNS name {name:?} has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "DNS name {name:?} has a label longer than 63 bytes"
            ));
        }
    }
    Ok(())
}

/// Builds a standard query (RD set, one question of class IN).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // AN, NS, AR counts
    if name != "." {
        for label in name.strip_suffix('.').unwrap_or(name).split('.') {
            let bytes = label.as_bytes();
            q.push(u8::try_from(bytes.len()).unwrap_or(63).min(63));
            q.extend_from_slice(bytes.get(..63).unwrap_or(bytes));
        }
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    q
}

/// What a datagram says in answer to our query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Not an answer to our query (too short, other ID, or a query): keep waiting.
    Ignore,
    /// An answer with this RCODE (0 = NOERROR).
    Answer { rcode: u8 },
}

/// Reads a response header (check_dns.c `dns_recv_thread`).
pub fn read_reply(id: u16, msg: &[u8]) -> Reply {
    let (Some(id_bytes), Some(flags)) = (msg.get(0..2), msg.get(2..4)) else {
        return Reply::Ignore;
    };
    if msg.len() < 12 || id_bytes != id.to_be_bytes() {
        return Reply::Ignore;
    }
    let (hi, lo) = match flags {
        [hi, lo] => (*hi, *lo),
        _ => return Reply::Ignore,
    };
    if hi & 0x80 == 0 {
        return Reply::Ignore;
    }
    Reply::Answer { rcode: lo & 0x0f }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn query_bytes() {
        let q = build_query(0x1234, "example.org", 1);
        assert_eq!(
            q,
            [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p',
                b'l', b'e', 3, b'o', b'r', b'g', 0, 0, 1, 0, 1
            ]
        );
        assert_eq!(
            build_query(1, ".", 6).get(12..),
            Some(&[0u8, 0, 6, 0, 1][..])
        );
        assert_eq!(
            build_query(1, "a.", 1).get(12..),
            Some(&[1u8, b'a', 0, 0, 1, 0, 1][..])
        );
    }

    #[test]
    fn reply_header() {
        let mut r = build_query(7, "x", 1);
        assert_eq!(read_reply(7, &r), Reply::Ignore); // a query, QR clear
        r[2] |= 0x80;
        assert_eq!(read_reply(7, &r), Reply::Answer { rcode: 0 });
        assert_eq!(read_reply(8, &r), Reply::Ignore);
        r[3] |= 3;
        assert_eq!(read_reply(7, &r), Reply::Answer { rcode: 3 });
        assert_eq!(read_reply(7, &r[..11]), Reply::Ignore);
    }

    #[test]
    fn names_and_types() {
        assert_eq!(qtype_from_name("soa"), Some(6));
        assert_eq!(qtype_from_name("AAAA"), Some(28));
        assert_eq!(qtype_from_name("ANY"), None);
        assert!(check_name(".").is_ok());
        assert!(check_name("example.org.").is_ok());
        assert!(check_name(".org").is_err());
        assert!(check_name("a..b").is_err());
        assert!(check_name(&"x".repeat(64)).is_err());
    }

    proptest! {
        #[test]
        fn reply_parser_never_panics(id in any::<u16>(), msg in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = read_reply(id, &msg);
        }

        #[test]
        fn query_round_trips_its_header(id in any::<u16>(), qtype in any::<u16>(), name in "[a-z]{1,10}(\\.[a-z]{1,10}){0,3}") {
            let q = build_query(id, &name, qtype);
            prop_assert_eq!(q.get(0..2), Some(&id.to_be_bytes()[..]));
            prop_assert_eq!(q.len(), 12 + name.len() + 2 + 4);
        }
    }
}
