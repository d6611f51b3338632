//! Speed of the wire layer on the per-packet path: parsing a frame down to TCP, keeping
//! checksums right incrementally versus recomputing them, and TOA option insertion.
//!
//! Run: `cargo bench -p dataplane --no-default-features --bench wire`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dataplane::wire::ethernet::{self, EtherType, Frame, MacAddr};
use dataplane::wire::ip::IpProtocol;
use dataplane::wire::toa::Toa;
use dataplane::wire::{checksum, ipv4, tcp};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);

/// An Ethernet/IPv4/TCP frame with valid checksums: `options` in the TCP header and
/// `payload_len` bytes of data, in a buffer with 64 spare bytes after it.
fn frame(options: &[u8], payload_len: usize) -> (Vec<u8>, usize) {
    let tcp_len = 20 + options.len() + payload_len;
    let len = 14 + 20 + tcp_len;
    let mut buf = vec![0u8; len + 64];
    ethernet::emit_header(
        &mut buf,
        MacAddr([2, 0, 0, 0, 0, 2]),
        MacAddr([2, 0, 0, 0, 0, 1]),
        EtherType::Ipv4,
    )
    .expect("room for Ethernet");
    ipv4::Repr {
        src: SRC,
        dst: DST,
        protocol: IpProtocol::Tcp,
        payload_len: tcp_len,
        ttl: 64,
        tos: 0,
        ident: 7,
        dont_frag: true,
    }
    .emit(&mut buf[14..])
    .expect("room for IPv4");
    tcp::Repr {
        src_port: 40000,
        dst_port: 80,
        seq: 1,
        ack: 0,
        flags: tcp::Flags::SYN,
        window: 64240,
    }
    .emit(&mut buf[34..])
    .expect("room for TCP");
    buf[46] = u8::try_from((20 + options.len()) / 4).expect("small header") << 4;
    buf[54..54 + options.len()].copy_from_slice(options);
    for (i, byte) in buf[54 + options.len()..len].iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    tcp::Packet::new_unchecked(&mut buf[34..len]).fill_checksum_v4(SRC, DST);
    (buf, len)
}

const SYN_OPTIONS: [u8; 20] = [
    2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7,
];

/// Parse Ethernet -> IPv4 (header checksum verified) -> TCP and read the 5-tuple and flags.
fn parse(frame: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u16, u16, u16)> {
    let walk = Frame::new_checked(frame).ok()?.walk_tags().ok()?;
    if walk.ethertype != EtherType::Ipv4 {
        return None;
    }
    let ip = ipv4::Packet::new_checked(frame.get(walk.payload_offset..)?).ok()?;
    let tcp = tcp::Packet::new_checked(ip.payload()).ok()?;
    Some((
        ip.src(),
        ip.dst(),
        tcp.src_port(),
        tcp.dst_port(),
        tcp.flags().0,
    ))
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    let (syn, len) = frame(&SYN_OPTIONS, 0);
    group.bench_function("eth_ipv4_tcp_syn", |b| {
        b.iter(|| parse(black_box(&syn[..len])))
    });
    let (data, len) = frame(&[], 1460);
    group.bench_function("eth_ipv4_tcp_1460", |b| {
        b.iter(|| parse(black_box(&data[..len])))
    });
    group.finish();
}

/// The NAT rewrite a director does per packet: destination address and port.
fn rewrite_incremental(buf: &mut [u8], len: usize, new_dst: Ipv4Addr, new_port: u16) {
    let mut ip = ipv4::Packet::new_unchecked(&mut buf[14..len]);
    let old_dst = ip.dst();
    ip.set_dst(new_dst);
    let _ = ip.dec_ttl();
    let mut tcp = tcp::Packet::new_unchecked(ip.payload_mut());
    tcp.adjust_checksum_for_ipv4_change(old_dst, new_dst);
    tcp.set_dst_port(new_port);
}

/// The same rewrite with both checksums recomputed from scratch.
fn rewrite_full(buf: &mut [u8], len: usize, new_dst: Ipv4Addr, new_port: u16) {
    let mut ip = ipv4::Packet::new_unchecked(&mut buf[14..len]);
    buf_set_dst(&mut ip, new_dst);
    let src = ip.src();
    let mut tcp = tcp::Packet::new_unchecked(ip.payload_mut());
    tcp.set_dst_port(new_port);
    tcp.fill_checksum_v4(src, new_dst);
}

fn buf_set_dst(ip: &mut ipv4::Packet<&mut [u8]>, new_dst: Ipv4Addr) {
    ip.set_dst(new_dst);
    let _ = ip.dec_ttl();
    ip.fill_checksum();
}

fn bench_checksum(c: &mut Criterion) {
    let mut group = c.benchmark_group("nat_rewrite");
    group.throughput(Throughput::Elements(1));
    for payload in [0usize, 1460] {
        let (mut buf, len) = frame(&SYN_OPTIONS, payload);
        let mut flip = false;
        group.bench_function(format!("incremental_{payload}B_payload"), |b| {
            b.iter(|| {
                flip = !flip;
                let (dst, port) = if flip {
                    (Ipv4Addr::new(10, 0, 0, 1), 8080)
                } else {
                    (DST, 80)
                };
                // TTL would run out after 63 rounds; keep it topped up outside the rewrite.
                buf[14 + 8] = 64;
                rewrite_incremental(black_box(&mut buf), len, dst, port);
            })
        });
        let (mut buf, len) = frame(&SYN_OPTIONS, payload);
        group.bench_function(format!("full_recompute_{payload}B_payload"), |b| {
            b.iter(|| {
                flip = !flip;
                let (dst, port) = if flip {
                    (Ipv4Addr::new(10, 0, 0, 1), 8080)
                } else {
                    (DST, 80)
                };
                buf[14 + 8] = 64;
                rewrite_full(black_box(&mut buf), len, dst, port);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("checksum_sum");
    for size in [20usize, 64, 1500] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size}B"), |b| {
            b.iter(|| checksum::sum(black_box(&data)))
        });
    }
    group.finish();
}

fn bench_insertion(c: &mut Criterion) {
    let mut group = c.benchmark_group("toa_insert");
    group.throughput(Throughput::Elements(1));
    let toa = Toa {
        port: 40000,
        addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
    };
    for payload in [0usize, 1460] {
        let (template, len) = frame(&SYN_OPTIONS, payload);
        // The copy of the template is part of each measured iteration (criterion's batched
        // setup is too coarse at this scale); `copy_only` below measures it alone.
        let mut buf = template.clone();
        group.bench_function(format!("ipv4_{payload}B_payload"), |b| {
            b.iter(|| {
                buf.copy_from_slice(&template);
                tcp::insert_toa(black_box(&mut buf[14..]), len - 14, toa, false)
            })
        });
        group.bench_function(format!("copy_only_{payload}B_payload"), |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(&template));
            })
        });
    }
    let (template, len) = frame(&SYN_OPTIONS, 0);
    group.bench_function("batched_setup_syn", |b| {
        b.iter_batched_ref(
            || template.clone(),
            |buf| tcp::insert_toa(&mut buf[14..], len - 14, toa, false),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_parse, bench_checksum, bench_insertion);
criterion_main!(benches);
