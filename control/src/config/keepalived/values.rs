//! Scalar values as keepalived reads them: whole-word numbers (no trailing junk, unlike
//! `atoi`), timers in seconds with fractions, `on|off|true|false|yes|no`, addresses with an
//! optional prefix length, dotted IPv4 netmasks. Each parser returns the message an operator
//! should read when the word is wrong.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::IfAddr;

/// An unsigned decimal number in `min..=max`.
pub fn unsigned(word: &str, min: u64, max: u64) -> Result<u64, String> {
    if word.starts_with('-') {
        return Err(format!("negative number '{word}' (expected {min}..={max})"));
    }
    let v: u64 = word
        .strip_prefix('+')
        .unwrap_or(word)
        .parse()
        .map_err(|_| format!("invalid number '{word}'"))?;
    if v < min || v > max {
        return Err(format!("number '{word}' is out of range {min}..={max}"));
    }
    Ok(v)
}

/// A signed decimal number in `min..=max`.
pub fn signed(word: &str, min: i64, max: i64) -> Result<i64, String> {
    let v: i64 = word
        .strip_prefix('+')
        .unwrap_or(word)
        .parse()
        .map_err(|_| format!("invalid number '{word}'"))?;
    if v < min || v > max {
        return Err(format!("number '{word}' is out of range {min}..={max}"));
    }
    Ok(v)
}

/// A u32 in `min..=max`.
pub fn u32_in(word: &str, min: u32, max: u32) -> Result<u32, String> {
    unsigned(word, u64::from(min), u64::from(max)).map(|v| u32::try_from(v).unwrap_or(max))
}

/// A u16 in `min..=max`.
pub fn u16_in(word: &str, min: u16, max: u16) -> Result<u16, String> {
    unsigned(word, u64::from(min), u64::from(max)).map(|v| u16::try_from(v).unwrap_or(max))
}

/// A u8 in `min..=max`.
pub fn u8_in(word: &str, min: u8, max: u8) -> Result<u8, String> {
    unsigned(word, u64::from(min), u64::from(max)).map(|v| u8::try_from(v).unwrap_or(max))
}

/// Seconds (fractions allowed) in `0..=max`.
pub fn timer(word: &str, max: f64) -> Result<f64, String> {
    let v: f64 = word
        .parse()
        .map_err(|_| format!("invalid number of seconds '{word}'"))?;
    if !v.is_finite() || v < 0.0 || v > max {
        return Err(format!("'{word}' is out of range 0..={max} seconds"));
    }
    Ok(v)
}

/// keepalived's `<BOOL>`.
pub fn boolean(word: &str) -> Result<bool, String> {
    match word {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "'{word}' is not a boolean (on|off|true|false|yes|no)"
        )),
    }
}

/// An IPv4 or IPv6 address.
pub fn ip(word: &str) -> Result<IpAddr, String> {
    word.parse()
        .map_err(|_| format!("'{word}' is not an IP address"))
}

/// `ADDR[/LEN]`, the length defaulting to the whole address.
pub fn ip_prefix(word: &str) -> Result<IfAddr, String> {
    word.parse::<IfAddr>().map_err(|e| format!("'{word}': {e}"))
}

/// A port number.
pub fn port(word: &str) -> Result<u16, String> {
    u16_in(word, 0, 65535).map_err(|_| format!("'{word}' is not a port number (0..=65535)"))
}

/// A dotted IPv4 netmask (`255.255.255.0`) as its prefix length; the ones must be contiguous.
pub fn netmask_v4(word: &str) -> Result<u8, String> {
    let mask: Ipv4Addr = word
        .parse()
        .map_err(|_| format!("'{word}' is not an IPv4 netmask"))?;
    let bits = u32::from(mask);
    let len = bits.leading_ones();
    if bits.checked_shl(len).unwrap_or(0) != 0 {
        return Err(format!("IPv4 netmask {word} is not contiguous"));
    }
    u8::try_from(len).map_err(|_| format!("IPv4 netmask {word} is out of range"))
}

/// The addresses of `a.b.c.d`, `a.b.c.d-e` (last octet range), `a.b.c.d-e.f.g.h`,
/// `a.b.c.d/nn`, and the IPv6 forms (`...:x-y` ranges over the last 16 bits).
/// At most `limit` addresses; more is an error.
pub fn address_range(word: &str, limit: usize) -> Result<Vec<IpAddr>, String> {
    let (first, last) = if word.contains('/') {
        prefix_bounds(ip_prefix(word)?)
    } else if let Some((a, b)) = word.split_once('-') {
        let start = ip(a)?;
        let end = match b.parse::<IpAddr>() {
            Ok(full) => full,
            Err(_) => {
                last_part(start, b).ok_or_else(|| format!("'{word}' is not an address range"))?
            }
        };
        (start, end)
    } else {
        let a = ip(word)?;
        (a, a)
    };
    let (lo, hi) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => return Err(format!("'{word}' mixes IPv4 and IPv6")),
    };
    if hi < lo {
        return Err(format!("address range '{word}' ends before it starts"));
    }
    if hi - lo >= limit as u128 {
        return Err(format!(
            "address range '{word}' holds more than {limit} addresses"
        ));
    }
    Ok((lo..=hi)
        .map(|v| match first {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX))),
            IpAddr::V6(_) => IpAddr::V6(v.into()),
        })
        .collect())
}

/// The first and last address of a prefix.
fn prefix_bounds(p: IfAddr) -> (IpAddr, IpAddr) {
    match p.addr {
        IpAddr::V4(a) => {
            let host = if p.prefix_len >= 32 {
                0
            } else {
                u32::MAX >> p.prefix_len
            };
            let base = u32::from(a) & !host;
            (IpAddr::V4(base.into()), IpAddr::V4((base | host).into()))
        }
        IpAddr::V6(a) => {
            let host = if p.prefix_len >= 128 {
                0
            } else {
                u128::MAX >> p.prefix_len
            };
            let base = u128::from(a) & !host;
            (IpAddr::V6(base.into()), IpAddr::V6((base | host).into()))
        }
    }
}

/// The end of a short range: the last octet (IPv4, decimal) or last group (IPv6, hex).
fn last_part(start: IpAddr, part: &str) -> Option<IpAddr> {
    match start {
        IpAddr::V4(a) => {
            let last: u8 = part.parse().ok()?;
            let mut o = a.octets();
            o[3] = last;
            Some(IpAddr::V4(o.into()))
        }
        IpAddr::V6(a) => {
            let last = u16::from_str_radix(part, 16).ok()?;
            let mut s = a.segments();
            s[7] = last;
            Some(IpAddr::V6(s.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_whole_words() {
        assert_eq!(unsigned("42", 0, 100), Ok(42));
        assert!(unsigned("42x", 0, 100).is_err());
        assert!(unsigned("-1", 0, 100).is_err());
        assert!(unsigned("101", 0, 100).is_err());
        assert_eq!(signed("-20", -253, 253), Ok(-20));
        assert!(signed("300", -253, 253).is_err());
        assert_eq!(timer("2.5", 100.0), Ok(2.5));
        assert!(timer("nan", 100.0).is_err());
        assert!(timer("-1", 100.0).is_err());
        assert_eq!(boolean("yes"), Ok(true));
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn netmasks() {
        assert_eq!(netmask_v4("255.255.255.0"), Ok(24));
        assert_eq!(netmask_v4("0.0.0.0"), Ok(0));
        assert_eq!(netmask_v4("255.255.255.255"), Ok(32));
        assert!(netmask_v4("255.0.255.0").is_err());
        assert!(netmask_v4("24").is_err());
    }

    #[test]
    fn ranges() {
        let r = address_range("192.168.200.1-3", 100).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[2], "192.168.200.3".parse::<IpAddr>().unwrap());
        let r = address_range("192.168.200.250-192.168.201.2", 100).unwrap();
        assert_eq!(r.len(), 9);
        let r = address_range("192.168.202.8/29", 100).unwrap();
        assert_eq!(r.len(), 8);
        assert_eq!(r[0], "192.168.202.8".parse::<IpAddr>().unwrap());
        let r = address_range("2001:db8::1-a", 100).unwrap();
        assert_eq!(r.len(), 10);
        assert!(address_range("10.0.0.0/8", 65536).is_err());
        assert!(address_range("10.0.0.5-1", 100).is_err());
        assert!(address_range("10.0.0.1-2001:db8::1", 100).is_err());
        assert_eq!(address_range("10.0.0.1", 1).unwrap().len(), 1);
    }
}
