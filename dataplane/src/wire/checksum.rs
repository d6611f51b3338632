//! The Internet checksum: full computation (RFC 1071), pseudo-header sums and incremental
//! update (RFC 1624).
//!
//! Vocabulary used throughout `wire`:
//! - a **sum** is the folded 16-bit ones'-complement sum of some 16-bit words, *not*
//!   complemented (what RFC 1071 accumulates);
//! - a **checksum** is the complement of the sum of everything it covers (what goes on the
//!   wire). A packet verifies when the sum over it, checksum field included, is `0xffff`.
//!
//! Hand-written rather than taken from a crate: the available crates either allocate,
//! compute only the full sum, or lack RFC 1624 updates for 32- and 128-bit fields, and the
//! whole thing is a few dozen lines whose corner cases the property tests below pin down.
//!
//! Speed: [`sum`] adds native-endian 32-bit words into a 64-bit accumulator (no carry is
//! lost before 2^32 words, far beyond any packet), folds once and swaps bytes once at the
//! end. Ones'-complement addition is associative, commutative and byte-order independent,
//! so this equals summing big-endian 16-bit words (RFC 1071 section 2); the compiler
//! vectorises the loop.
//!
//! Incremental update follows RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`, which (unlike
//! RFC 1141's eqn. 2) never produces `0x0000`-for-`0xffff` mistakes on real packets. The one
//! case where it differs from a full recompute is a covered region that becomes *all zero*:
//! a full recompute then yields `0xffff` while the update yields `0x0000`, and only `0xffff`
//! verifies. No IPv4 header is all zero (version 4), nor is any TCP/UDP/ICMPv6 message
//! (their pseudo-header holds the protocol number); the one message that can be is an
//! ICMPv4 echo reply with identifier, sequence and data all zero, which `icmp` handles.
//! (For non-zero data `0x0000` and `0xffff` both verify: adding `0xffff` adds zero.)

use core::net::{Ipv4Addr, Ipv6Addr};

/// Adds `data` as big-endian 16-bit words (an odd last byte is padded with a zero byte, as
/// RFC 1071 says) and returns the folded ones'-complement sum.
///
/// An odd-length `data` is only meaningful as the *last* piece of a message: a piece that
/// follows it would be misaligned by one byte.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    fold(raw_sum(data))
}

/// The accumulator behind [`sum`]: results of several calls (and pseudo-header sums) may
/// be added and then [`fold`]ed. (It is already folded to 16 bits; adding a few of them
/// cannot overflow.)
#[inline]
pub fn raw_sum(data: &[u8]) -> u64 {
    // Native-endian 32-bit words summed into a 64-bit accumulator: a loop LLVM turns into
    // wide vector adds. The ones'-complement sum does not depend on byte order except for
    // a final byte swap (RFC 1071 section 2 (B)), done once after folding. The tail is
    // padded with zeros to a whole word, which is RFC 1071's padding of an odd byte.
    let mut words = data.chunks_exact(4);
    let mut acc: u64 = 0;
    for word in &mut words {
        acc += u64::from(u32::from_ne_bytes([word[0], word[1], word[2], word[3]]));
    }
    let mut tail = [0u8; 4];
    for (slot, byte) in tail.iter_mut().zip(words.remainder()) {
        *slot = *byte;
    }
    acc += u64::from(u32::from_ne_bytes(tail));
    u64::from(u16::from_be(fold(acc)))
}

/// Folds an unfolded ones'-complement accumulator to 16 bits (end-around carry).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves at most 16 significant bits.
    (acc & 0xffff) as u16
}

/// Ones'-complement addition of two sums.
#[inline]
pub fn add(a: u16, b: u16) -> u16 {
    fold(u64::from(a) + u64::from(b))
}

/// The checksum (complemented sum) of `data`, as RFC 1071 defines it.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// True when `data`, which contains its own checksum field, verifies.
#[inline]
pub fn verify(data: &[u8]) -> bool {
    sum(data) == 0xffff
}

/// The sum of the IPv4 pseudo-header (RFC 793 section 3.1, RFC 768): source, destination,
/// zero, protocol, upper-layer length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let acc = u64::from(src.to_bits())
        + u64::from(dst.to_bits())
        + u64::from(protocol)
        + u64::from(length);
    fold((acc >> 32) + (acc & 0xffff_ffff))
}

/// The sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source, destination, 32-bit
/// upper-layer length, three zero bytes, next header.
#[inline]
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let acc = raw_sum(&src.octets())
        + raw_sum(&dst.octets())
        + u64::from(length >> 16)
        + u64::from(length & 0xffff)
        + u64::from(next_header);
    fold(acc)
}

/// RFC 1624 eqn. 3 for one changed 16-bit word: the new checksum after `old` became `new`.
#[inline]
pub fn update16(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!old) + u64::from(new))
}

/// RFC 1624 for a 16-bit field at byte `offset` of the covered data, which may be odd
/// (TCP options sit at any byte offset). A field at an odd offset straddles two words: its
/// high byte is the low byte of one word and its low byte the high byte of the next, so it
/// contributes its byte-swapped value to the sum.
#[inline]
pub fn update16_at(checksum: u16, offset: usize, old: u16, new: u16) -> u16 {
    if offset.is_multiple_of(2) {
        update16(checksum, old, new)
    } else {
        update16(checksum, old.swap_bytes(), new.swap_bytes())
    }
}

/// RFC 1624 for a changed 32-bit field (an IPv4 address, a TCP sequence number), given in
/// network byte order.
#[inline]
pub fn update32(checksum: u16, old: [u8; 4], new: [u8; 4]) -> u16 {
    update_words(checksum, &old, &new)
}

/// RFC 1624 for a changed 128-bit field (an IPv6 address).
#[inline]
pub fn update128(checksum: u16, old: [u8; 16], new: [u8; 16]) -> u16 {
    update_words(checksum, &old, &new)
}

/// RFC 1624 for any even-sized field aligned on a 16-bit word boundary of the covered data.
#[inline]
pub fn update_words<const N: usize>(checksum: u16, old: &[u8; N], new: &[u8; N]) -> u16 {
    const {
        assert!(
            N.is_multiple_of(2),
            "checksum fields are whole 16-bit words"
        )
    };
    // ~old summed word by word equals (0xffff * words - sum(old)), all ones'-complement.
    let mut acc = u64::from(!checksum);
    for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        acc += u64::from(!u16::from_be_bytes([o[0], o[1]]))
            + u64::from(u16::from_be_bytes([n[0], n[1]]));
    }
    !fold(acc)
}

/// RFC 1624 for a whole sum that changed from `old_sum` to `new_sum`: useful when several
/// fields changed and their old and new sums were accumulated separately.
#[inline]
pub fn update_sum(checksum: u16, old_sum: u16, new_sum: u16) -> u16 {
    update16(checksum, old_sum, new_sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The textbook definition, one 16-bit word at a time: the oracle for the fast path.
    fn reference_sum(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for pair in data.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map_or(0, u32::from);
            acc += hi | lo;
            acc = (acc & 0xffff) + (acc >> 16);
        }
        (acc & 0xffff) as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn known_ipv4_header() {
        // The worked example of the IPv4 header checksum (`45 00 00 73 ...`, UDP,
        // 192.168.0.1 -> 192.168.0.199): checksum 0xb861.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&header), 0xb861);
        let mut with = header;
        with[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert!(verify(&with));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[0x12, 0x34, 0xab]), 0x12 * 256 + 0x34 + 0xab00);
    }

    #[test]
    fn all_ones_and_empty() {
        assert_eq!(sum(&[]), 0);
        assert_eq!(sum(&[0xff; 64]), 0xffff);
        assert_eq!(checksum(&[0xff; 64]), 0);
    }

    #[test]
    fn pseudo_headers_match_byte_sums() {
        let src = Ipv4Addr::new(10, 1, 2, 3);
        let dst = Ipv4Addr::new(192, 168, 255, 254);
        let mut bytes = [0u8; 12];
        bytes[0..4].copy_from_slice(&src.octets());
        bytes[4..8].copy_from_slice(&dst.octets());
        bytes[9] = 6;
        bytes[10..12].copy_from_slice(&1480u16.to_be_bytes());
        assert_eq!(pseudo_header_v4(src, dst, 6, 1480), reference_sum(&bytes));

        let src6: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let dst6: Ipv6Addr = "fe80::ffff:1:2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let mut bytes6 = [0u8; 40];
        bytes6[0..16].copy_from_slice(&src6.octets());
        bytes6[16..32].copy_from_slice(&dst6.octets());
        bytes6[32..36].copy_from_slice(&70_000u32.to_be_bytes());
        bytes6[39] = 17;
        assert_eq!(
            pseudo_header_v6(&src6, &dst6, 17, 70_000),
            reference_sum(&bytes6)
        );
    }

    /// Writes a valid checksum at `at` (a word-aligned offset) of `data`.
    fn seal(data: &mut [u8], at: usize) {
        data[at..at + 2].copy_from_slice(&[0, 0]);
        let c = checksum(data);
        data[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }

    /// Word values that exercise the ones'-complement corners.
    fn corner_word() -> impl Strategy<Value = u16> {
        prop_oneof![
            Just(0x0000u16),
            Just(0xffffu16),
            Just(0x0001u16),
            Just(0xfffeu16),
            any::<u16>()
        ]
    }

    proptest! {
        #[test]
        fn fast_sum_equals_reference(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(sum(&data), reference_sum(&data));
        }

        #[test]
        fn update16_equals_recompute(
            mut words in proptest::collection::vec(corner_word(), 2..40),
            pick in any::<prop::sample::Index>(),
            new in corner_word(),
        ) {
            // Word 0 holds the checksum; rewrite any other word.
            let mut data: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            seal(&mut data, 0);
            let index = 1 + pick.index(words.len() - 1);
            let old = words[index];
            words[index] = new;
            data[index * 2..index * 2 + 2].copy_from_slice(&new.to_be_bytes());
            let stored = u16::from_be_bytes([data[0], data[1]]);
            let incremental = update16(stored, old, new);
            data[0..2].copy_from_slice(&incremental.to_be_bytes());
            if data[2..].iter().all(|&b| b == 0) {
                // The documented degenerate case: all-zero covered data.
                prop_assert_eq!(incremental, 0x0000);
            } else {
                prop_assert!(verify(&data));
                let mut again = data.clone();
                seal(&mut again, 0);
                prop_assert_eq!(&again, &data);
            }
        }

        #[test]
        fn update32_and_128_equal_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 40..120),
            new4 in any::<[u8; 4]>(),
            new16 in any::<[u8; 16]>(),
            corner in any::<bool>(),
        ) {
            if data.len() % 2 == 1 { data.pop(); }
            data[2] = 0x45; // keep the covered data non-zero, as any real header is
            if corner {
                // Old field of all ones, and a checksum that starts at 0x0000/0xffff.
                data[4..8].copy_from_slice(&[0xff; 4]);
            }
            seal(&mut data, 0);
            let c0 = u16::from_be_bytes([data[0], data[1]]);
            let mut old4 = [0u8; 4];
            old4.copy_from_slice(&data[4..8]);
            data[4..8].copy_from_slice(&new4);
            let c1 = update32(c0, old4, new4);
            let mut old16 = [0u8; 16];
            old16.copy_from_slice(&data[8..24]);
            data[8..24].copy_from_slice(&new16);
            let c2 = update128(c1, old16, new16);
            data[0..2].copy_from_slice(&c2.to_be_bytes());
            prop_assert!(verify(&data));
            let mut again = data.clone();
            seal(&mut again, 0);
            prop_assert_eq!(again, data);
        }

        #[test]
        fn update16_at_any_offset_equals_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 8..64),
            pick in any::<prop::sample::Index>(),
            new in corner_word(),
        ) {
            data[2] = 0x45;
            seal(&mut data, 0);
            // Any offset from 3 on (the checksum occupies 0..2, byte 2 stays non-zero).
            let at = 3 + pick.index(data.len() - 4);
            let old = u16::from_be_bytes([data[at], data[at + 1]]);
            data[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let stored = u16::from_be_bytes([data[0], data[1]]);
            let c = update16_at(stored, at, old, new);
            data[0..2].copy_from_slice(&c.to_be_bytes());
            prop_assert!(verify(&data));
            let mut again = data.clone();
            seal(&mut again, 0);
            prop_assert_eq!(again, data);
        }

        #[test]
        fn checksum_field_itself_at_corners(base in corner_word(), other in corner_word()) {
            // A message whose checksum comes out as 0x0000 or 0xffff still updates right.
            let mut data = [0u8; 8];
            data[2..4].copy_from_slice(&0x4500u16.to_be_bytes());
            data[4..6].copy_from_slice(&base.to_be_bytes());
            seal(&mut data, 0);
            let c0 = u16::from_be_bytes([data[0], data[1]]);
            data[6..8].copy_from_slice(&other.to_be_bytes());
            let c1 = update16(c0, 0, other);
            data[0..2].copy_from_slice(&c1.to_be_bytes());
            prop_assert!(verify(&data));
            let mut again = data;
            seal(&mut again, 0);
            prop_assert_eq!(again, data);
        }
    }

    #[test]
    fn checksum_zero_and_ffff_cases() {
        // Data summing to 0xffff has checksum 0x0000 (never 0xffff for non-zero data).
        let mut data = [0x00, 0x00, 0xff, 0xfe, 0x00, 0x01];
        seal(&mut data, 0);
        assert_eq!(&data[0..2], &[0x00, 0x00]);
        // Rewriting 0x0001 -> 0x0002 moves the checksum off zero correctly.
        let c = update16(0x0000, 0x0001, 0x0002);
        data[0..2].copy_from_slice(&c.to_be_bytes());
        data[4..6].copy_from_slice(&[0x00, 0x02]);
        assert!(verify(&data));
        assert_eq!(c, 0xfffe);
        // And back again lands on 0x0000, the same value a full recompute gives.
        let back = update16(c, 0x0002, 0x0001);
        assert_eq!(back, 0x0000);
    }

    #[test]
    fn all_zero_degenerate_case_is_as_documented() {
        // Covered data 0x0001 -> 0x0000: full recompute says 0xffff, eqn. 3 says 0x0000.
        assert_eq!(checksum(&[0, 0]), 0xffff);
        assert_eq!(update16(!0x0001, 0x0001, 0x0000), 0x0000);
    }
}
