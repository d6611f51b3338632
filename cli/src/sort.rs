//! The order in which ipvsadm lists services and destinations.
//!
//! ipvsadm sorts with `qsort` and comparators that subtract unsigned 32-bit addresses and
//! return the difference as an `int`: `250.1.1.1` minus `2.1.1.1` wraps to a negative number,
//! so `250.1.1.1` sorts first. Such a comparator is not a total order, so the result depends
//! on the sorting algorithm too; glibc 2.36 (Debian 12, the oracle's libc) sorts with a
//! top-down merge sort that splits at `n / 2` and takes from the left run on ties. Both are
//! reproduced here so listings come out line for line as ipvsadm's (std's sorts may panic or
//! reorder differently given an inconsistent comparator).

use std::cmp::Ordering;
use std::net::IpAddr;

use proto::{DestInfo, Protocol, ServiceInfo, ServiceKey};

/// glibc 2.36's `msort_with_tmp`: stable top-down merge sort; `cmp` returns a C-style int.
pub fn glibc_merge_sort<T: Clone>(items: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    let n = items.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    {
        let (left, right) = items.split_at_mut(n1);
        glibc_merge_sort(left, cmp);
        glibc_merge_sort(right, cmp);
    }
    let mut merged = Vec::with_capacity(n);
    let (left, right) = items.split_at(n1);
    let (mut i, mut j) = (0, 0);
    while let (Some(a), Some(b)) = (left.get(i), right.get(j)) {
        if cmp(a, b) <= 0 {
            merged.push(a.clone());
            i += 1;
        } else {
            merged.push(b.clone());
            j += 1;
        }
    }
    merged.extend(left.iter().skip(i).cloned());
    merged.extend(right.iter().skip(j).cloned());
    for (slot, item) in items.iter_mut().zip(merged) {
        *slot = item;
    }
}

/// `(int)((u32)a - (u32)b)`, the difference ipvsadm's comparators return.
fn wrapping_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// An address as the four 32-bit words of `union nf_inet_addr` (IPv4 in the first word).
fn words(addr: IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(v4) => [u32::from(v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| {
                u32::from_be_bytes([
                    o.get(i).copied().unwrap_or(0),
                    o.get(i + 1).copied().unwrap_or(0),
                    o.get(i + 2).copied().unwrap_or(0),
                    o.get(i + 3).copied().unwrap_or(0),
                ])
            };
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// The address comparison shared by both comparators: all four words when the left side is
/// IPv6, the first word otherwise.
fn addr_diff(a: IpAddr, b: IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    let count = if a.is_ipv6() { 4 } else { 1 };
    wa.iter()
        .zip(wb.iter())
        .take(count)
        .map(|(x, y)| wrapping_diff(*x, *y))
        .find(|r| *r != 0)
        .unwrap_or(0)
}

/// Linux's `AF_INET` / `AF_INET6`.
fn family(addr: IpAddr) -> i32 {
    if addr.is_ipv4() { 2 } else { 10 }
}

fn protocol_number(p: Protocol) -> i32 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
    }
}

/// libipvs's `ipvs_cmp_services`: fwmark, family, protocol, address, port.
pub fn cmp_services(a: &ServiceInfo, b: &ServiceInfo) -> i32 {
    // A fwmark service is keyed AF_INET/TCP with no address, as ipvsadm fills it in.
    let fields = |k: &ServiceKey| match *k {
        ServiceKey::Addr { protocol, addr } => (
            0u32,
            family(addr.ip()),
            protocol_number(protocol),
            addr.ip(),
            addr.port(),
        ),
        ServiceKey::Fwmark { mark } => (mark, 2, 6, IpAddr::from([0u8, 0, 0, 0]), 0),
    };
    let (fa, afa, pa, aa, porta) = fields(&a.spec.key);
    let (fb, afb, pb, ab, portb) = fields(&b.spec.key);
    [
        wrapping_diff(fa, fb),
        afa - afb,
        pa - pb,
        addr_diff(aa, ab),
        i32::from(porta) - i32::from(portb),
    ]
    .into_iter()
    .find(|r| *r != 0)
    .unwrap_or(0)
}

/// libipvs's `ipvs_cmp_dests`: address, then port.
pub fn cmp_dests(a: &DestInfo, b: &DestInfo) -> i32 {
    let r = addr_diff(a.spec.addr.ip(), b.spec.addr.ip());
    if r != 0 {
        return r;
    }
    i32::from(a.spec.addr.port()) - i32::from(b.spec.addr.port())
}

/// Sorts services (and each service's destinations) as ipvsadm does.
pub fn sort_listing(services: &mut [ServiceInfo]) {
    glibc_merge_sort(services, &cmp_services);
    for s in services.iter_mut() {
        glibc_merge_sort(&mut s.dests, &cmp_dests);
    }
}

/// A plain total order on IP addresses, for rvs's own listings.
pub fn ip_order(a: &IpAddr, b: &IpAddr) -> Ordering {
    (a.is_ipv6(), a).cmp(&(b.is_ipv6(), b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_sorts_and_is_stable() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        glibc_merge_sort(&mut v, &|a, b| a.0 - b.0);
        assert_eq!(v, vec![(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    }

    #[test]
    fn wrapping_comparison_puts_high_addresses_first() {
        let a: IpAddr = "250.1.1.1".parse().unwrap();
        let b: IpAddr = "2.1.1.1".parse().unwrap();
        assert!(addr_diff(a, b) < 0);
        let c: IpAddr = "10.0.0.2".parse().unwrap();
        let d: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(addr_diff(c, d) > 0);
        let v6a: IpAddr = "2001:db8::2".parse().unwrap();
        let v6b: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(addr_diff(v6a, v6b), 1);
    }

    #[test]
    fn the_result_depends_on_the_merge_order_as_in_glibc() {
        // Addresses 0, 2^31+1 and 1: pairwise comparisons are cyclic under wrapping
        // subtraction; glibc's split (left = [0], right = [2^31+1, 1]) decides the result.
        let mut v: Vec<u32> = vec![0, 0x8000_0001, 1];
        glibc_merge_sort(&mut v, &|a, b| wrapping_diff(*a, *b));
        assert_eq!(v, vec![0x8000_0001, 0, 1]);
    }
}
