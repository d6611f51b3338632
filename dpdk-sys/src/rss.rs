//! Receive-side scaling: how a port with several RX queues spreads packets over them.
//!
//! Without RSS a NIC delivers every packet on queue 0, so with several workers one of them
//! would receive everything and hand most of it over. With RSS the NIC hashes each packet's
//! IPv4 addresses (and TCP/UDP ports) and picks the queue from its redirection table, which
//! drivers fill round-robin over the configured queues at start.
//!
//! What is asked for is decided here, as plain data, from what the driver offers
//! (`flow_type_rss_offloads`, `hash_key_size`), so the choice is testable without a NIC:
//!
//! * IPv4 (plain, fragments, TCP, UDP, other), restricted to the offered hash types; none
//!   offered means no RSS, and the workers' hand-off keeps forwarding correct;
//! * a symmetric Toeplitz key — the 16-bit pattern `0x6d5a` repeated, which gives
//!   `(a, b, pa, pb)` and `(b, a, pb, pa)` the same hash (Woo and Park, "Scalable TCP Session
//!   Monitoring with Symmetric Receive-side Scaling", 2012) — so both directions of one
//!   tuple land on one queue. The director's forwarded traffic seldom has such pairs (a NAT
//!   or FULLNAT reply is a different tuple; FULLNAT replies are placed by rte_flow, see
//!   [`crate::flow`]), but it costs nothing and keeps the director's own conversations
//!   together. A driver that reports no key size gets the 40-byte key the `rte_eth_rss_conf`
//!   documentation names. The price of symmetry: a key that repeats every 16 bits makes the
//!   hash a function of the XOR of the tuple's 16-bit halves — 16 bits of entropy, plenty for
//!   a redirection table of 128–512 entries.
use crate::ffi;

/// The IPv4 hash types rvs asks for (before restricting them to what the driver offers).
pub const WANTED_HASH: u64 = ffi::RVS_ETH_RSS_IPV4
    | ffi::RVS_ETH_RSS_FRAG_IPV4
    | ffi::RVS_ETH_RSS_NONFRAG_IPV4_TCP
    | ffi::RVS_ETH_RSS_NONFRAG_IPV4_UDP
    | ffi::RVS_ETH_RSS_NONFRAG_IPV4_OTHER;

/// The key length `rte_eth_rss_conf` documents, for drivers that report none.
pub const DEFAULT_KEY_LEN: usize = 40;

/// The two bytes a symmetric Toeplitz key repeats.
const SYMMETRIC_PATTERN: [u8; 2] = [0x6d, 0x5a];

/// What a driver says about its RSS (from `rte_eth_dev_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RssCapability {
    /// The hash types it can compute (`RTE_ETH_RSS_*` bits).
    pub hash_types: u64,
    /// Its key length in bytes (0 = not reported).
    pub key_len: u8,
    /// Entries of its redirection table (0 = not reported).
    pub reta_size: u16,
}

/// What a port is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RssPlan {
    /// RSS was not asked for (kernel-side ports: the kernel picks their queue).
    NotWanted,
    /// One RX queue: nothing to spread.
    SingleQueue,
    /// The driver hashes none of the IPv4 types: every packet arrives on queue 0 and the
    /// hand-off between workers carries the rest.
    Unsupported {
        /// The hash types the driver offers (for the log).
        offered: u64,
    },
    /// The driver offered hash types but refused the RSS configuration
    /// (`rte_eth_dev_configure` failed with this code); the port runs without RSS.
    Refused { code: i32 },
    /// Spread by these hash types with this key.
    Hash {
        /// `RTE_ETH_RSS_*` bits: the wanted types the driver offers.
        types: u64,
        /// A symmetric key of the driver's length.
        key: Vec<u8>,
    },
}

impl RssPlan {
    /// The plan for a port with `rx_queues` RX queues and driver capability `capa`.
    pub fn new(wanted: bool, rx_queues: u16, capa: RssCapability) -> RssPlan {
        if !wanted {
            return RssPlan::NotWanted;
        }
        if rx_queues <= 1 {
            return RssPlan::SingleQueue;
        }
        let types = WANTED_HASH & capa.hash_types;
        if types == 0 {
            return RssPlan::Unsupported {
                offered: capa.hash_types,
            };
        }
        let len = match capa.key_len {
            0 => DEFAULT_KEY_LEN,
            n => usize::from(n),
        };
        RssPlan::Hash {
            types,
            key: symmetric_key(len),
        }
    }

    /// Whether the port hashes packets over its queues.
    pub fn spreads(&self) -> bool {
        matches!(self, RssPlan::Hash { .. })
    }
}

/// A symmetric Toeplitz key of `len` bytes (`6d 5a 6d 5a ...`).
pub fn symmetric_key(len: usize) -> Vec<u8> {
    SYMMETRIC_PATTERN
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// The names of the hash types in `types`, for logs (`ipv4 tcp udp ...`).
pub fn hash_type_names(types: u64) -> String {
    let names = [
        (ffi::RVS_ETH_RSS_IPV4, "ipv4"),
        (ffi::RVS_ETH_RSS_FRAG_IPV4, "ipv4-frag"),
        (ffi::RVS_ETH_RSS_NONFRAG_IPV4_TCP, "ipv4-tcp"),
        (ffi::RVS_ETH_RSS_NONFRAG_IPV4_UDP, "ipv4-udp"),
        (ffi::RVS_ETH_RSS_NONFRAG_IPV4_OTHER, "ipv4-other"),
    ];
    let mut out: Vec<String> = names
        .iter()
        .filter(|(bit, _)| types & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    let rest = types & !WANTED_HASH;
    if rest != 0 {
        out.push(format!("{rest:#x}"));
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(" ")
    }
}

/// The Toeplitz hash of `input` under `key` (as a NIC computes it): used by the tests to
/// show that the key is symmetric, and available to anyone who wants to predict a queue.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let mut hash = 0u32;
    // The 32-bit window of the key starting at bit i, slid one bit per input bit.
    let key_bit = |i: usize| -> u32 {
        key.get(i / 8)
            .map_or(0, |b| u32::from((b >> (7 - (i % 8))) & 1))
    };
    let mut window = (0..32).fold(0u32, |w, i| (w << 1) | key_bit(i));
    for (byte_index, byte) in input.iter().enumerate() {
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= window;
            }
            window = (window << 1) | key_bit(byte_index * 8 + bit + 32);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_IP: u64 = 0x0000_0003_ffff_fffc;

    fn capa(hash_types: u64, key_len: u8) -> RssCapability {
        RssCapability {
            hash_types,
            key_len,
            reta_size: 128,
        }
    }

    #[test]
    fn the_hash_types_are_dpdks_bits() {
        // rte_ethdev.h: RTE_ETH_RSS_IPV4 = bit 2, FRAG_IPV4 = 3, NONFRAG_IPV4_TCP = 4,
        // NONFRAG_IPV4_UDP = 5, NONFRAG_IPV4_OTHER = 7.
        assert_eq!(WANTED_HASH, 0b1011_1100);
    }

    #[test]
    fn several_queues_and_an_ipv4_hash_give_rss_with_a_symmetric_key_of_the_drivers_length() {
        let plan = RssPlan::new(true, 4, capa(ALL_IP, 52));
        let RssPlan::Hash { types, key } = &plan else {
            panic!("{plan:?}")
        };
        assert_eq!(*types, WANTED_HASH);
        assert_eq!(key.len(), 52);
        assert!(key.chunks(2).all(|c| c == [0x6d, 0x5a]));
        assert!(plan.spreads());
        // A driver that reports no key size gets the documented 40 bytes.
        let RssPlan::Hash { key, .. } = RssPlan::new(true, 2, capa(ALL_IP, 0)) else {
            panic!()
        };
        assert_eq!(key.len(), 40);
    }

    #[test]
    fn only_the_offered_types_are_asked_for() {
        // An ixgbe-like set without fragments or "other": IPv4, TCP, UDP only.
        let offered = ffi::RVS_ETH_RSS_IPV4
            | ffi::RVS_ETH_RSS_NONFRAG_IPV4_TCP
            | ffi::RVS_ETH_RSS_NONFRAG_IPV4_UDP
            | (1 << 8); // IPv6, not wanted
        let RssPlan::Hash { types, .. } = RssPlan::new(true, 2, capa(offered, 40)) else {
            panic!()
        };
        assert_eq!(
            types,
            ffi::RVS_ETH_RSS_IPV4
                | ffi::RVS_ETH_RSS_NONFRAG_IPV4_TCP
                | ffi::RVS_ETH_RSS_NONFRAG_IPV4_UDP
        );
        assert_eq!(hash_type_names(types), "ipv4 ipv4-tcp ipv4-udp");
    }

    #[test]
    fn no_rss_without_queues_to_spread_over_or_without_an_ipv4_hash() {
        assert_eq!(
            RssPlan::new(true, 1, capa(ALL_IP, 40)),
            RssPlan::SingleQueue
        );
        assert_eq!(RssPlan::new(false, 4, capa(ALL_IP, 40)), RssPlan::NotWanted);
        // net_pcap, net_ring: nothing offered.
        assert_eq!(
            RssPlan::new(true, 2, capa(0, 0)),
            RssPlan::Unsupported { offered: 0 }
        );
        // IPv6 only.
        let plan = RssPlan::new(true, 2, capa(1 << 8, 40));
        assert_eq!(plan, RssPlan::Unsupported { offered: 1 << 8 });
        assert!(!plan.spreads());
        assert!(!RssPlan::Refused { code: 22 }.spreads());
        assert_eq!(hash_type_names(0), "none");
        assert_eq!(hash_type_names(1 << 8), "0x100");
    }

    /// The input of an IPv4/TCP Toeplitz hash: source, destination, source port,
    /// destination port.
    fn tuple(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v
    }

    #[test]
    fn toeplitz_matches_the_published_verification_vector() {
        // Microsoft's RSS verification suite: the default key, 66.9.149.187:2794 ->
        // 161.142.100.80:1766 hashes to 0x51ccc178 (IPv4 with TCP ports).
        let key = [
            0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
            0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
            0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
        ];
        let input = tuple([66, 9, 149, 187], [161, 142, 100, 80], 2794, 1766);
        assert_eq!(toeplitz(&key, &input), 0x51cc_c178);
        // That key is not symmetric: the reverse direction hashes elsewhere.
        let back = tuple([161, 142, 100, 80], [66, 9, 149, 187], 1766, 2794);
        assert_ne!(toeplitz(&key, &input), toeplitz(&key, &back));
    }

    #[test]
    fn the_symmetric_key_hashes_both_directions_alike() {
        let key = symmetric_key(40);
        let mut distinct = std::collections::BTreeSet::new();
        let mut per_queue = [0u32; 4];
        for i in 0..200u32 {
            let n = i.wrapping_mul(2_654_435_761);
            let a = [10, 9, (n >> 24) as u8, (n >> 16) as u8];
            let b = [10, 0, 0, 100];
            let sport = 1024 + (n % 60_000) as u16;
            let fwd = toeplitz(&key, &tuple(a, b, sport, 80));
            let back = toeplitz(&key, &tuple(b, a, 80, sport));
            assert_eq!(fwd, back, "flow {i}");
            distinct.insert(fwd);
            // A redirection table of 128 entries filled round-robin over 4 queues.
            per_queue[(fwd % 128 % 4) as usize] += 1;
        }
        // ... and still spreads different flows. (The key repeats every 16 bits, so the hash
        // is a function of the XOR of the tuple's 16-bit halves: 16 bits of entropy, plenty
        // for a redirection table.)
        assert!(distinct.len() > 150, "{}", distinct.len());
        assert!(per_queue.iter().all(|&n| n > 25), "{per_queue:?}");
    }
}
