//! What a scheduler may look at in a new connection, and the hash functions IPVS applies.
//!
//! The hashing schedulers (sh, dh, lblc, lblcr, mh) hash addresses the way IPVS does, so
//! a table built from the same servers in the same order maps a client the same way:
//! an IPv4 address as its host-order 32-bit value, an IPv6 address folded to 32 bits by
//! XOR of its four words (IPVS's `addr_fold`), then the kernel's `hash_32` multiplicative
//! hash or, for mh, `hsiphash` (SipHash-1-3 on 64-bit kernels).

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher13;

/// The addresses and ports of a connection's first packet, client side first.
///
/// `src_port` is what sh-port/mh-port hash; give 0 for protocols without ports (ICMP),
/// as IPVS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
}

impl Flow {
    pub fn new(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> Self {
        Flow {
            src,
            src_port,
            dst,
            dst_port,
        }
    }
}

/// IPVS `addr_fold` in host order: the IPv4 address, or the XOR of an IPv6 address's words.
pub(crate) fn fold32(addr: &IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(a) => {
            let w = a.segments();
            let word = |hi: u16, lo: u16| (u32::from(hi) << 16) | u32::from(lo);
            word(w[0], w[1]) ^ word(w[2], w[3]) ^ word(w[4], w[5]) ^ word(w[6], w[7])
        }
    }
}

/// The kernel's `hash_32(val, bits)` (include/linux/hash.h): multiply by the 32-bit golden
/// ratio and keep the top `bits` bits. `bits` is 1..=32.
pub(crate) fn hash_32(val: u32, bits: u32) -> u32 {
    const GOLDEN_RATIO_32: u32 = 0x61C8_8647;
    let bits = bits.clamp(1, 32);
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// A SipHash key, as the kernel's `hsiphash_key_t` on a 64-bit machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SipKey(pub u64, pub u64);

/// The kernel's `hsiphash(&v, sizeof(u32), key)` on a 64-bit machine: SipHash-1-3 of the
/// four bytes of `v` as they lie in a little-endian machine's memory, truncated to 32 bits.
pub(crate) fn hsiphash_u32(v: u32, key: SipKey) -> u32 {
    let mut h = SipHasher13::new_with_keys(key.0, key.1);
    h.write(&v.to_le_bytes());
    // Truncation is the kernel's: hsiphash returns the low 32 bits.
    (h.finish() & 0xffff_ffff) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn fold_is_host_order_and_xor_of_words() {
        assert_eq!(fold32(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))), 0x0a00_0001);
        let v6: Ipv6Addr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(
            fold32(&IpAddr::V6(v6)),
            0x2001_0db8 ^ 0x0001_0002 ^ 0x0003_0004 ^ 0x0005_0006
        );
    }

    #[test]
    fn hash_32_matches_kernel_arithmetic() {
        // 1 * 0x61C88647 >> 24 = 0x61; 0x0a000001 * 0x61C88647 mod 2^32 = 0x0CA38647.
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(
            hash_32(0x0a00_0001, 32),
            0x0a00_0001u32.wrapping_mul(0x61C8_8647)
        );
        assert_eq!(
            hash_32(0x0a00_0001, 8),
            0x0a00_0001u32.wrapping_mul(0x61C8_8647) >> 24
        );
    }

    /// SipHash-1-3 written out from the kernel's macros (lib/siphash.c, 64-bit
    /// `hsiphash_1u32`), to pin the crate's output to the kernel construction.
    fn kernel_hsiphash_1u32(first: u32, k0: u64, k1: u64) -> u32 {
        let (mut v0, mut v1, mut v2, mut v3) = (
            0x736f_6d65_7073_6575u64 ^ k0,
            0x646f_7261_6e64_6f6du64 ^ k1,
            0x6c79_6765_6e65_7261u64 ^ k0,
            0x7465_6462_7974_6573u64 ^ k1,
        );
        let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
            *v0 = v0.wrapping_add(*v1);
            *v1 = v1.rotate_left(13);
            *v1 ^= *v0;
            *v0 = v0.rotate_left(32);
            *v2 = v2.wrapping_add(*v3);
            *v3 = v3.rotate_left(16);
            *v3 ^= *v2;
            *v0 = v0.wrapping_add(*v3);
            *v3 = v3.rotate_left(21);
            *v3 ^= *v0;
            *v2 = v2.wrapping_add(*v1);
            *v1 = v1.rotate_left(17);
            *v1 ^= *v2;
            *v2 = v2.rotate_left(32);
        };
        let b = (4u64 << 56) | u64::from(first);
        v3 ^= b;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= b;
        v2 ^= 0xff;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        ((v0 ^ v1) ^ (v2 ^ v3)) as u32
    }

    #[test]
    fn hsiphash_is_the_kernel_construction() {
        let key = SipKey(2_654_435_761, 2_654_435_761);
        for v in [0u32, 1, 80, 0x0a00_0001, 0xffff_ffff, 0xc0a8_0164 + 443] {
            assert_eq!(hsiphash_u32(v, key), kernel_hsiphash_1u32(v, key.0, key.1));
        }
    }
}
