//! Numbers and addresses as ipvsadm reads them from its command line.
//!
//! ipvsadm leans on the C library (`strtol`, `atoi`, `inet_aton`, `inet_pton`,
//! `gethostbyname`, `getservbyname`), whose leniencies are part of what users type:
//! `inet_aton` takes `10.1`, `0x0a.1.2.3` and octal parts, `strtol` takes leading blanks and a
//! sign. Rust's parsers are stricter, so the few C behaviours that matter are written out here
//! (std has no `inet_aton`; the functions are a dozen lines each).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proto::Protocol;

use crate::names::Names;

/// C's `isspace` in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `strtol(s, &end, 10)` that must consume the whole string: `None` when there is no digit,
/// when something follows the number, or on overflow of a C `long`.
pub fn strtol_whole(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let mut i = bytes.iter().take_while(|b| is_c_space(**b)).count();
    let negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = bytes.get(i..)?;
    let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if count == 0 || count != digits.len() {
        return None;
    }
    let mut value: i64 = 0;
    for d in digits {
        let digit = i64::from(d - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// ipvsadm's `string_to_number`: a whole decimal number within `min..=max`.
pub fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    strtol_whole(s).filter(|n| (min..=max).contains(n))
}

/// C's `atoi`: leading blanks, a sign, then as many digits as there are; 0 when none.
pub fn atoi(s: &str) -> i64 {
    let bytes = s.as_bytes();
    let mut i = bytes.iter().take_while(|b| is_c_space(**b)).count();
    let negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    for d in bytes.iter().skip(i).take_while(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(i64::from(d - b'0'));
    }
    if negative { -value } else { value }
}

/// glibc's `inet_aton`: one to four parts in decimal, octal (`0` prefix) or hex (`0x`),
/// the last part filling the remaining bytes; anything after a blank is ignored.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let bytes = s.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    loop {
        let first = *bytes.get(i)?;
        if !first.is_ascii_digit() {
            return None;
        }
        let (base, mut j) = if first == b'0' {
            match bytes.get(i + 1) {
                Some(b'x' | b'X') => (16, i + 2),
                _ => (8, i + 1),
            }
        } else {
            (10, i)
        };
        let mut value: u64 = 0;
        while let Some(&c) = bytes.get(j) {
            let digit = match c {
                b'0'..=b'9' if base != 8 || c < b'8' => u64::from(c - b'0'),
                b'a'..=b'f' if base == 16 => u64::from(c - b'a' + 10),
                b'A'..=b'F' if base == 16 => u64::from(c - b'A' + 10),
                _ => break,
            };
            value = value.checked_mul(base)?.checked_add(digit)?;
            if value > u64::from(u32::MAX) {
                return None;
            }
            j += 1;
        }
        parts.push(value);
        match bytes.get(j) {
            Some(b'.') => {
                if parts.len() == 4 {
                    return None;
                }
                i = j + 1;
            }
            None => break,
            Some(c) if is_c_space(*c) => break,
            Some(_) => return None,
        }
    }
    let (last, leading) = parts.split_last()?;
    if leading.iter().any(|p| *p > 0xff) {
        return None;
    }
    let room = 32 - 8 * leading.len() as u32;
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let mut value: u64 = *last;
    for (k, p) in leading.iter().enumerate() {
        value |= p << (24 - 8 * k as u32);
    }
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// What `parse_service` found (ipvsadm's `SERVICE_ADDR`/`SERVICE_PORT` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: IpAddr,
    /// `Some` when the text named a port.
    pub port: Option<u16>,
}

/// ipvsadm's `parse_service`: `host[:port]`, `[v6addr]:port` or a bare IPv6 address.
/// `protocol` chooses the table that port names are looked up in; `None` when the
/// caller has no protocol yet (then only numeric ports are accepted).
pub fn parse_endpoint(
    text: &str,
    protocol: Option<Protocol>,
    names: &dyn Names,
) -> Option<Endpoint> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (host, mut port_text) = match text.strip_prefix('[') {
        Some(inner) => {
            let (host, after) = inner.split_once(']')?;
            (host, Some(after.strip_prefix(':')?))
        }
        None => (text, None),
    };
    let addr = if let Ok(v6) = host.parse::<Ipv6Addr>() {
        IpAddr::V6(v6)
    } else {
        // ipvsadm looks for the port separator again here, in what is left of the text: a
        // bracketed IPv4 address therefore loses the port written after the bracket.
        let (v4_text, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        port_text = port;
        let v4 = match inet_aton(v4_text) {
            Some(a) => a,
            None => names.host_addr(v4_text)?,
        };
        IpAddr::V4(v4)
    };
    let port = match port_text {
        None => None,
        Some(p) => Some(match string_to_number(p, 0, 65535) {
            Some(n) => u16::try_from(n).ok()?,
            None => names.port_number(p, protocol?)?,
        }),
    };
    Some(Endpoint { addr, port })
}

/// ipvsadm's `parse_netmask` (`-M` for an IPv4 service): whatever `inet_aton` or a host
/// lookup makes of the text, `16` included (it reads as 0.0.0.16).
pub fn read_v4_netmask(text: &str, names: &dyn Names) -> Option<Ipv4Addr> {
    inet_aton(text).or_else(|| names.host_addr(text))
}

/// The prefix length rvs keeps for an IPv4 `-M`: a dotted mask must be contiguous
/// (`255.255.255.0`, the form `-S` prints); as rvs's addition a plain length (`24`) is taken
/// as a prefix rather than as the address 0.0.0.24.
pub fn v4_netmask_prefix(text: &str, mask: Ipv4Addr) -> Option<u8> {
    if !text.is_empty() && text.len() <= 2 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u8>().ok().filter(|p| *p <= 32);
    }
    let bits = u32::from(mask);
    let len = bits.leading_ones();
    let canonical = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (bits == canonical)
        .then(|| u8::try_from(len).ok())
        .flatten()
}

/// An IPv4 netmask of `len` bits, as `inet_ntoa` prints it.
pub fn v4_mask(len: u8) -> Ipv4Addr {
    let len = u32::from(len.min(32));
    Ipv4Addr::from(if len == 0 { 0 } else { u32::MAX << (32 - len) })
}

/// `ADDR/LEN` as the director commands take it (`10.0.0.1/24`, `2001:db8::1/64`).
pub fn parse_prefix(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::tests::FixedNames;

    #[test]
    fn strtol_accepts_what_c_accepts() {
        assert_eq!(strtol_whole("80"), Some(80));
        assert_eq!(strtol_whole(" +80"), Some(80));
        assert_eq!(strtol_whole("-1"), Some(-1));
        assert_eq!(strtol_whole(""), None);
        assert_eq!(strtol_whole("80x"), None);
        assert_eq!(strtol_whole("-"), None);
        assert_eq!(strtol_whole("99999999999999999999"), None);
        assert_eq!(string_to_number("65536", 0, 65535), None);
        assert_eq!(string_to_number("0", 0, 65535), Some(0));
    }

    #[test]
    fn atoi_stops_at_the_first_non_digit() {
        assert_eq!(atoi("64abc"), 64);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(" -3"), -3);
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(inet_aton("10.1.2.3"), Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(inet_aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("16"), Some(Ipv4Addr::new(0, 0, 0, 16)));
        assert_eq!(inet_aton("0x0a.010.0.1"), Some(Ipv4Addr::new(10, 8, 0, 1)));
        assert_eq!(inet_aton("1.2.3.4 junk"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("bad..addr"), None);
        assert_eq!(inet_aton(""), None);
        assert_eq!(inet_aton("09"), None);
    }

    #[test]
    fn endpoints_as_ipvsadm_reads_them() {
        let n = FixedNames::default();
        let tcp = Some(Protocol::Tcp);
        let e = parse_endpoint("10.0.0.1:http", tcp, &n).unwrap();
        assert_eq!(e.addr, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(e.port, Some(80));
        assert_eq!(parse_endpoint("10.0.0.1", tcp, &n).unwrap().port, None);
        assert_eq!(parse_endpoint("80", tcp, &n), None);
        assert_eq!(parse_endpoint("10.0.0.1:", tcp, &n), None);
        assert_eq!(parse_endpoint("10.0.0.1:99999", tcp, &n), None);
        assert_eq!(parse_endpoint("10.0.0.1:http", None, &n), None);
        let v6 = parse_endpoint("[2001:db8::1]:443", tcp, &n).unwrap();
        assert_eq!(v6.addr, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(v6.port, Some(443));
        assert_eq!(parse_endpoint("::1", tcp, &n).unwrap().port, None);
        assert_eq!(parse_endpoint("[::1]", tcp, &n), None);
        // A bracketed IPv4 address drops its port, as ipvsadm does.
        assert_eq!(parse_endpoint("[1.2.3.4]:80", tcp, &n).unwrap().port, None);
        assert_eq!(
            parse_endpoint("gateway:80", tcp, &n).unwrap().addr,
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254))
        );
        assert_eq!(parse_endpoint("nowhere:80", tcp, &n), None);
    }

    #[test]
    fn netmasks() {
        let n = FixedNames::default();
        let prefix = |t: &str| read_v4_netmask(t, &n).and_then(|m| v4_netmask_prefix(t, m));
        assert_eq!(prefix("255.255.0.0"), Some(16));
        assert_eq!(prefix("24"), Some(24));
        assert_eq!(prefix("0"), Some(0));
        assert_eq!(prefix("0.0.0.0"), Some(0));
        assert_eq!(prefix("33"), None);
        assert_eq!(prefix("255.0.255.0"), None);
        // ipvsadm reads these, so the command line is not refused before its other checks.
        assert_eq!(read_v4_netmask("64", &n), Some(Ipv4Addr::new(0, 0, 0, 64)));
        assert_eq!(
            read_v4_netmask("255.0.255.0", &n),
            Some(Ipv4Addr::new(255, 0, 255, 0))
        );
        assert_eq!(read_v4_netmask("x", &n), None);
        assert_eq!(v4_mask(16), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(v4_mask(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(v4_mask(32), Ipv4Addr::new(255, 255, 255, 255));
    }

    #[test]
    fn prefixes_and_macs() {
        assert_eq!(
            parse_prefix("10.0.0.1/24"),
            Some(("10.0.0.1".parse().unwrap(), 24))
        );
        assert_eq!(parse_prefix("10.0.0.1/33"), None);
        assert_eq!(parse_prefix("2001:db8::/64").unwrap().1, 64);
        assert_eq!(parse_prefix("10.0.0.1"), None);
        assert_eq!(
            parse_mac("52:54:00:ab:CD:0f"),
            Some([0x52, 0x54, 0, 0xab, 0xcd, 0x0f])
        );
        assert_eq!(parse_mac("52:54:00:ab:cd"), None);
        assert_eq!(parse_mac("52:54:00:ab:cd:0f:00"), None);
        assert_eq!(parse_mac("52:54:00:ab:cd:xyz"), None);
    }
}
