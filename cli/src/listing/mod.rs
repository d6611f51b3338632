//! Pure formatting: protocol data in, the exact bytes ipvsadm 1.31 prints out.
//!
//! Nothing here talks to the daemon or the terminal; names come through [`Names`], so every
//! function is a deterministic function of its arguments and can be checked byte for byte
//! against the oracle's golden files. Widths, paddings, truncations and the odd trailing
//! space follow ipvsadm's `printf` formats (quoted in the doc comments).

pub mod conns;
pub mod director;
pub mod rules;
pub mod services;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

use proto::Protocol;

use crate::names::Names;

/// What a listing shows (ipvsadm's `FMT_*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Format {
    /// `-n`: no name lookups.
    pub numeric: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--nosort`.
    pub nosort: bool,
    /// `--exact`.
    pub exact: bool,
    /// `--tun-info`.
    pub tun_info: bool,
}

/// glibc's `inet_ntop(AF_INET6)`: RFC 5952 compression, but with the embedded-IPv4 forms
/// (`::ffff:1.2.3.4` and the deprecated `::1.2.3.4`) that glibc still prints.
pub fn inet_ntop6(addr: Ipv6Addr) -> String {
    let words = addr.segments();
    // Longest run of zero words (the first one on a tie), if at least two long.
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let mut i = 0;
    while i < 8 {
        if words.get(i) == Some(&0) {
            let start = i;
            while words.get(i) == Some(&0) {
                i += 1;
            }
            let len = i - start;
            if len > best_len {
                best_base = Some(start);
                best_len = len;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        let in_run = best_base.is_some_and(|base| i >= base && i < base + best_len);
        if in_run {
            if best_base == Some(i) {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best_base == Some(0)
            && (best_len == 6 || (best_len == 5 && words.get(5) == Some(&0xffff)))
        {
            let o = addr.octets();
            let _ = write!(out, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            return out;
        }
        let _ = write!(out, "{word:x}");
    }
    if best_base.is_some_and(|b| b + best_len == 8) {
        out.push(':');
    }
    out
}

/// An address as `inet_ntop` prints it.
pub fn ntop(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => inet_ntop6(v6),
    }
}

/// Cuts `s` to at most `max` bytes (on a character boundary), as writing a NUL into a C
/// buffer does.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// ipvsadm's `addrport_to_anyname`: `host:port` (IPv6 in brackets), names unless numeric,
/// within its 60-byte buffer.
pub fn addrport(
    addr: IpAddr,
    port: u16,
    protocol: Protocol,
    numeric: bool,
    names: &dyn Names,
) -> String {
    let (open, close) = if addr.is_ipv4() { ("", "") } else { ("[", "]") };
    let mut s = if numeric {
        format!("{open}{}{close}:{port}", ntop(addr))
    } else {
        let host = names.host_name(addr).unwrap_or_else(|| ntop(addr));
        let service = names
            .port_name(port, protocol)
            .unwrap_or_else(|| port.to_string());
        format!("{open}{host}{close}:{service}")
    };
    truncate(&mut s, 59);
    s
}

/// ipvsadm's `print_largenum`: a counter in a 9-column field, scaled to K/M/G/T unless exact.
pub fn largenum(out: &mut String, n: u64, exact: bool) {
    let _ = if exact {
        let width = n.to_string().len().max(8) + 1;
        write!(out, "{n:>width$}")
    } else if n < 100_000_000 {
        write!(out, "{n:>9}")
    } else if n < 1_000_000_000 {
        write!(out, "{:>8}K", n / 1000)
    } else if n < 100_000_000_000 {
        write!(out, "{:>8}M", n / 1_000_000)
    } else if n < 100_000_000_000_000 {
        write!(out, "{:>8}G", n / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", n / 1_000_000_000_000)
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;

    #[test]
    fn ipv6_text_as_glibc_prints_it() {
        let f = |s: &str| inet_ntop6(s.parse().unwrap());
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("::"), "::");
        assert_eq!(f("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
        assert_eq!(f("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
        assert_eq!(f("2001:db8:1:1:1:1:0:1"), "2001:db8:1:1:1:1:0:1");
        assert_eq!(f("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
        assert_eq!(f("::10.0.0.1"), "::10.0.0.1");
        assert_eq!(f("fe80::"), "fe80::");
    }

    #[test]
    fn largenum_scales_like_ipvsadm() {
        let f = |n: u64, exact: bool| {
            let mut s = String::new();
            largenum(&mut s, n, exact);
            s
        };
        assert_eq!(f(0, false), "        0");
        assert_eq!(f(99_999_999, false), " 99999999");
        assert_eq!(f(100_000_000, false), "  100000K");
        assert_eq!(f(999_999_999, false), "  999999K");
        assert_eq!(f(1_000_000_000, false), "    1000M");
        assert_eq!(f(99_999_999_999, false), "   99999M");
        assert_eq!(f(100_000_000_000, false), "     100G");
        assert_eq!(f(100_000_000_000_000, false), "     100T");
        assert_eq!(f(u64::MAX, false), "18446744T");
        assert_eq!(f(5, true), "        5");
        assert_eq!(f(123_456_789, true), " 123456789");
        assert_eq!(f(u64::MAX, true), " 18446744073709551615");
    }

    #[test]
    fn addrport_names_and_truncation() {
        let n = FixedNames::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            addrport(a, 80, Protocol::Tcp, false, &n),
            "www.example.org:http"
        );
        assert_eq!(addrport(a, 80, Protocol::Tcp, true, &n), "192.0.2.1:80");
        assert_eq!(
            addrport(a, 80, Protocol::Udp, false, &n),
            "www.example.org:80"
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            addrport(v6, 443, Protocol::Tcp, false, &n),
            "[2001:db8::1]:https"
        );
        let mut long = "x".repeat(70);
        truncate(&mut long, 59);
        assert_eq!(long.len(), 59);
    }
}
