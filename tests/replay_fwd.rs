//! Pcap replay proof of every forwarding mode: each directory of `pcaps/fwd/` (written by
//! `scripts/gen-fwd-pcaps.py`, which builds the expected packets with scapy from what IPVS
//! would send, independently of rvs) is replayed through `rvsd replay` with the real
//! forwarding stage, on the DPDK path (net_pcap; needs root) and on the pure-Rust pcap port.
//!
//! For each scenario and engine the test checks:
//! - every transmitted frame against the expected one, field by field (Ethernet, IPv4,
//!   TCP/UDP/ICMP, IPIP/GRE/GUE inner packets, ICMP quotes), naming the first field that
//!   differs and the packet's note from `expected.json`;
//! - every checksum of every transmitted frame, computed from scratch (IPv4 headers outer,
//!   inner and quoted; TCP, UDP, ICMP, GRE; inner packets of IPIP fragments reassembled);
//! - the counters `rvsd replay --counters` writes: worker totals, every drop by reason (a
//!   drop the scenario does not expect fails it), and each service's and real server's
//!   connections, packets, bytes and connection gauges.
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use common::{ROOT, TempDir, is_root, rvsd};
use dataplane::wire::ethernet::Frame;
use dataplane::wire::icmp;
use dataplane::wire::{EtherType, IpProtocol, arp, checksum, gre, gue, ipv4, tcp, udp};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Reading captures
// ---------------------------------------------------------------------------------------

/// The frames of a capture; an output file nothing was written to reads as no frames.
fn read_frames(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) <= 24 {
        return Ok(Vec::new());
    }
    let mut reader =
        pcap_file::pcap::PcapReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| format!("{}: {e}", path.display()))?;
        frames.push(packet.data.into_owned());
    }
    Ok(frames)
}

// ---------------------------------------------------------------------------------------
// Frames as named fields
// ---------------------------------------------------------------------------------------

/// A field's value: text, or bytes (compared for the first differing byte).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Text(String),
    Bytes(Vec<u8>),
}

/// The fields of a frame, in wire order, named by their path (`ipv4.inner.tcp.seq`).
#[derive(Default)]
struct Fields(Vec<(String, Val)>);

impl Fields {
    fn text(&mut self, name: &str, value: impl ToString) {
        self.0
            .push((name.to_string(), Val::Text(value.to_string())));
    }

    fn bytes(&mut self, name: &str, value: &[u8]) {
        self.0.push((name.to_string(), Val::Bytes(value.to_vec())));
    }

    /// The addresses and ports of a frame, for naming an unexpected one.
    fn summary(&self) -> String {
        self.0
            .iter()
            .filter(|(n, _)| n.ends_with(".src") || n.ends_with(".dst") || n.ends_with("port"))
            .filter_map(|(n, v)| match v {
                Val::Text(t) => Some(format!("{n}={t}")),
                Val::Bytes(_) => None,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The fields of an Ethernet frame.
fn dissect(frame: &[u8]) -> Fields {
    let mut f = Fields::default();
    let Ok(eth) = Frame::new_checked(frame) else {
        f.bytes("frame", frame);
        return f;
    };
    f.text("eth.dst", eth.dst());
    f.text("eth.src", eth.src());
    f.text("eth.type", format!("{:?}", eth.ethertype()));
    match eth.ethertype() {
        EtherType::Ipv4 => dissect_ipv4(&mut f, "ipv4", eth.payload()),
        EtherType::Arp => dissect_arp(&mut f, eth.payload()),
        _ => f.bytes("eth.payload", eth.payload()),
    }
    f
}

fn dissect_arp(f: &mut Fields, bytes: &[u8]) {
    let Ok(a) = arp::Packet::new_checked(bytes) else {
        f.bytes("arp", bytes);
        return;
    };
    f.text("arp.operation", format!("{:?}", a.operation()));
    f.text("arp.sender_mac", a.sender_mac());
    f.text("arp.sender_ip", a.sender_ip());
    f.text("arp.target_mac", a.target_mac());
    f.text("arp.target_ip", a.target_ip());
    // Ethernet padding of the in-place reply.
    f.bytes("arp.trailer", bytes.get(28..).unwrap_or_default());
}

/// The IPv4 header fields shared by packets and quotes.
fn ipv4_header<T: AsRef<[u8]>>(f: &mut Fields, p: &str, ip: &ipv4::Packet<T>) {
    f.text(&format!("{p}.version"), ip.version());
    f.text(&format!("{p}.header_len"), ip.header_len());
    f.text(&format!("{p}.tos"), format!("{:#04x}", ip.tos()));
    f.text(&format!("{p}.total_len"), ip.total_len());
    f.text(&format!("{p}.ident"), format!("{:#06x}", ip.ident()));
    f.text(&format!("{p}.df"), ip.dont_frag());
    f.text(&format!("{p}.mf"), ip.more_frags());
    f.text(&format!("{p}.frag_offset"), ip.fragment_offset());
    f.text(&format!("{p}.ttl"), ip.ttl());
    f.text(&format!("{p}.protocol"), u8::from(ip.protocol()));
    f.text(&format!("{p}.checksum"), format!("{:#06x}", ip.checksum()));
    f.text(&format!("{p}.src"), ip.src());
    f.text(&format!("{p}.dst"), ip.dst());
    f.bytes(&format!("{p}.options"), ip.options());
}

fn dissect_ipv4(f: &mut Fields, p: &str, bytes: &[u8]) {
    let Ok(ip) = ipv4::Packet::new_checked_without_checksum(bytes) else {
        f.bytes(p, bytes);
        return;
    };
    ipv4_header(f, p, &ip);
    // Bytes after the total length (Ethernet padding) are part of the frame too.
    f.bytes(
        &format!("{p}.trailer"),
        bytes.get(usize::from(ip.total_len())..).unwrap_or_default(),
    );
    let payload = ip.payload();
    if ip.is_fragment() {
        f.bytes(&format!("{p}.fragment"), payload);
        return;
    }
    match ip.protocol() {
        IpProtocol::Tcp => dissect_tcp(f, &format!("{p}.tcp"), payload),
        IpProtocol::Udp => dissect_udp(f, &format!("{p}.udp"), payload),
        IpProtocol::Icmp => dissect_icmp(f, &format!("{p}.icmp"), payload),
        IpProtocol::IpIp => dissect_ipv4(f, &format!("{p}.ipip"), payload),
        IpProtocol::Gre => dissect_gre(f, &format!("{p}.gre"), payload),
        _ => f.bytes(&format!("{p}.payload"), payload),
    }
}

fn dissect_tcp(f: &mut Fields, p: &str, bytes: &[u8]) {
    let Ok(t) = tcp::Packet::new_checked(bytes) else {
        f.bytes(p, bytes);
        return;
    };
    f.text(&format!("{p}.sport"), t.src_port());
    f.text(&format!("{p}.dport"), t.dst_port());
    f.text(&format!("{p}.seq"), t.seq());
    f.text(&format!("{p}.ack"), t.ack());
    f.text(&format!("{p}.header_len"), t.header_len());
    f.text(&format!("{p}.flags"), format!("{:#05x}", t.flags().0));
    f.text(&format!("{p}.window"), t.window());
    f.text(&format!("{p}.checksum"), format!("{:#06x}", t.checksum()));
    f.text(&format!("{p}.urgent"), t.urgent());
    f.bytes(&format!("{p}.options"), t.options());
    f.bytes(&format!("{p}.payload"), t.payload());
}

fn dissect_udp(f: &mut Fields, p: &str, bytes: &[u8]) {
    let Ok(u) = udp::Packet::new_checked(bytes) else {
        f.bytes(p, bytes);
        return;
    };
    f.text(&format!("{p}.sport"), u.src_port());
    f.text(&format!("{p}.dport"), u.dst_port());
    f.text(&format!("{p}.len"), u.len());
    f.text(&format!("{p}.checksum"), format!("{:#06x}", u.checksum()));
    // GUE variant 0 carrying IPv4 (the TUN scenarios): its header, then the inner packet.
    if let Ok(g) = gue::Packet::new_checked(u.payload())
        && g.variant() == 0
        && !g.is_control()
        && g.protocol() == IpProtocol::IpIp
    {
        let header = u.payload().get(..g.header_len()).unwrap_or_default();
        f.bytes(&format!("{p}.gue"), header);
        dissect_ipv4(f, &format!("{p}.gue.ipv4"), g.payload());
        return;
    }
    f.bytes(&format!("{p}.payload"), u.payload());
}

/// A GRE header whose announced fields are present, its checksum not verified (that is
/// [`bad_checksums`]' job).
fn gre_view(bytes: &[u8]) -> Option<gre::Packet<&[u8]>> {
    if bytes.len() < gre::BASE_LEN {
        return None;
    }
    let g = gre::Packet::new_unchecked(bytes);
    (g.header_len() <= bytes.len()).then_some(g)
}

fn dissect_gre(f: &mut Fields, p: &str, bytes: &[u8]) {
    let Some(g) = gre_view(bytes) else {
        f.bytes(p, bytes);
        return;
    };
    f.text(&format!("{p}.has_checksum"), g.has_checksum());
    f.text(&format!("{p}.has_key"), g.has_key());
    f.text(&format!("{p}.has_seq"), g.has_seq());
    f.text(&format!("{p}.protocol"), format!("{:?}", g.protocol()));
    f.text(
        &format!("{p}.checksum"),
        g.checksum().map_or("-".into(), |c| format!("{c:#06x}")),
    );
    if g.protocol() == EtherType::Ipv4 {
        dissect_ipv4(f, &format!("{p}.ipv4"), g.payload());
    } else {
        f.bytes(&format!("{p}.payload"), g.payload());
    }
}

fn dissect_icmp(f: &mut Fields, p: &str, bytes: &[u8]) {
    let Ok(m) = icmp::Packet::new_checked(bytes) else {
        f.bytes(p, bytes);
        return;
    };
    f.text(&format!("{p}.type"), format!("{:?}", m.msg_type()));
    f.text(&format!("{p}.code"), m.code());
    f.text(&format!("{p}.checksum"), format!("{:#06x}", m.checksum()));
    f.bytes(&format!("{p}.rest"), bytes.get(4..8).unwrap_or_default());
    let quote = bytes.get(8..).unwrap_or_default();
    if !m.msg_type().is_error() {
        f.bytes(&format!("{p}.data"), quote);
        return;
    }
    let q = format!("{p}.quote");
    match ipv4::Packet::new_embedded(quote) {
        Ok(ip) => {
            ipv4_header(f, &format!("{q}.ipv4"), &ip);
            let l4 = ip.payload();
            let port = |at: usize| l4.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            if matches!(ip.protocol(), IpProtocol::Tcp | IpProtocol::Udp) {
                f.text(&format!("{q}.sport"), format!("{:?}", port(0)));
                f.text(&format!("{q}.dport"), format!("{:?}", port(2)));
            }
            if ip.protocol() == IpProtocol::Tcp {
                let seq = l4
                    .get(4..8)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                f.text(&format!("{q}.tcp_seq"), format!("{seq:?}"));
            }
            f.bytes(&format!("{q}.payload"), l4);
        }
        Err(_) => f.bytes(&q, quote),
    }
}

/// The first field that differs between two frames, as a sentence. Checksum fields come
/// last: a wrong address or option changes the checksum before it in the header too, and
/// the field to name is the address or option.
fn first_difference(got: &[u8], want: &[u8]) -> Option<String> {
    let (g, w) = (dissect(got), dissect(want));
    let is_sum = |f: &(String, Val)| f.0.ends_with(".checksum");
    let (g_sums, g): (Vec<_>, Vec<_>) = g.0.into_iter().partition(is_sum);
    let (w_sums, w): (Vec<_>, Vec<_>) = w.0.into_iter().partition(is_sum);
    first_in(&g, &w)
        .or_else(|| first_in(&g_sums, &w_sums))
        .or_else(|| {
            (got != want).then(|| format!("bytes differ: got {}, expected {}", hex(got), hex(want)))
        })
}

fn first_in(g: &[(String, Val)], w: &[(String, Val)]) -> Option<String> {
    for i in 0..g.len().max(w.len()) {
        match (g.get(i), w.get(i)) {
            (Some((gn, gv)), Some((wn, wv))) if gn != wn => {
                return Some(format!(
                    "structure differs: got field {gn} where {wn} was expected"
                ));
            }
            (Some((name, Val::Text(a))), Some((_, Val::Text(b)))) if a != b => {
                return Some(format!("{name}: got {a}, expected {b}"));
            }
            (Some((name, Val::Bytes(a))), Some((_, Val::Bytes(b)))) if a != b => {
                let at = a.iter().zip(b).position(|(x, y)| x != y);
                return Some(match at {
                    Some(at) => format!(
                        "{name}: differs at byte {at} of {} (got {:02x}, expected {:02x}); got {}, expected {}",
                        b.len(),
                        a[at],
                        b[at],
                        short(a),
                        short(b)
                    ),
                    None => format!(
                        "{name}: got {} bytes, expected {}; got {}, expected {}",
                        a.len(),
                        b.len(),
                        short(a),
                        short(b)
                    ),
                });
            }
            (Some((gn, _)), Some((wn, _))) if gn == wn => {}
            (Some((gn, _)), None) => return Some(format!("unexpected field {gn}")),
            (None, Some((wn, _))) => return Some(format!("missing field {wn}")),
            _ => {}
        }
    }
    None
}

fn short(b: &[u8]) -> String {
    if b.len() <= 48 {
        hex(b)
    } else {
        format!("{}... ({} bytes)", hex(&b[..48]), b.len())
    }
}

// ---------------------------------------------------------------------------------------
// Checksums, from scratch
// ---------------------------------------------------------------------------------------

/// IPv4 fragments waiting for their siblings: (src, dst, ident, protocol) -> (offset, more,
/// bytes).
type Pending = BTreeMap<(Ipv4Addr, Ipv4Addr, u16, u8), Vec<(usize, bool, Vec<u8>)>>;

/// Every checksum of a frame that fails, by name.
fn bad_checksums(frame: &[u8], pending: &mut Pending) -> Vec<String> {
    let mut bad = Vec::new();
    if let Ok(eth) = Frame::new_checked(frame)
        && eth.ethertype() == EtherType::Ipv4
    {
        check_ipv4(eth.payload(), "ipv4", &mut bad, pending);
    }
    bad
}

fn check_ipv4(bytes: &[u8], p: &str, bad: &mut Vec<String>, pending: &mut Pending) {
    let Ok(ip) = ipv4::Packet::new_checked_without_checksum(bytes) else {
        bad.push(format!("{p}: not a valid IPv4 packet"));
        return;
    };
    if !ip.verify_checksum() {
        bad.push(format!("{p}.checksum"));
    }
    if ip.is_fragment() {
        let key = (ip.src(), ip.dst(), ip.ident(), u8::from(ip.protocol()));
        let parts = pending.entry(key).or_default();
        parts.push((
            usize::from(ip.fragment_offset()),
            ip.more_frags(),
            ip.payload().to_vec(),
        ));
        parts.sort_by_key(|(off, _, _)| *off);
        let mut whole = Vec::new();
        let complete = parts.iter().all(|(off, _, data)| {
            let fits = *off == whole.len();
            whole.extend_from_slice(data);
            fits
        }) && parts.last().is_some_and(|(_, more, _)| !more);
        if complete {
            pending.remove(&key);
            check_payload(
                ip.protocol(),
                ip.src(),
                ip.dst(),
                &whole,
                &format!("{p}.reassembled"),
                bad,
                pending,
            );
        }
        return;
    }
    check_payload(
        ip.protocol(),
        ip.src(),
        ip.dst(),
        ip.payload(),
        p,
        bad,
        pending,
    );
}

fn check_payload(
    proto: IpProtocol,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &[u8],
    p: &str,
    bad: &mut Vec<String>,
    pending: &mut Pending,
) {
    match proto {
        IpProtocol::Tcp => match tcp::Packet::new_checked(payload) {
            Ok(t) if t.verify_checksum_v4(src, dst) => {}
            _ => bad.push(format!("{p}.tcp.checksum")),
        },
        IpProtocol::Udp => match udp::Packet::new_checked(payload) {
            Ok(u) => {
                if u.checksum() != 0 && !u.verify_checksum_v4(src, dst) {
                    bad.push(format!("{p}.udp.checksum"));
                }
                if let Ok(g) = gue::Packet::new_checked(u.payload())
                    && g.variant() == 0
                    && g.protocol() == IpProtocol::IpIp
                {
                    check_ipv4(g.payload(), &format!("{p}.udp.gue.ipv4"), bad, pending);
                }
            }
            Err(_) => bad.push(format!("{p}.udp: malformed")),
        },
        IpProtocol::Icmp => match icmp::Packet::new_checked(payload) {
            Ok(m) => {
                if !m.verify_checksum() {
                    bad.push(format!("{p}.icmp.checksum"));
                }
                if m.msg_type().is_error()
                    && let Ok(q) = m.embedded_ipv4()
                    && !q.verify_checksum()
                {
                    bad.push(format!("{p}.icmp.quote.ipv4.checksum"));
                }
            }
            Err(_) => bad.push(format!("{p}.icmp: malformed")),
        },
        IpProtocol::IpIp => check_ipv4(payload, &format!("{p}.ipip"), bad, pending),
        IpProtocol::Gre => match gre_view(payload) {
            Some(g) => {
                if g.has_checksum() && !checksum::verify(payload) {
                    bad.push(format!("{p}.gre.checksum"));
                }
                if g.protocol() == EtherType::Ipv4 {
                    check_ipv4(g.payload(), &format!("{p}.gre.ipv4"), bad, pending);
                }
            }
            None => bad.push(format!("{p}.gre: malformed")),
        },
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Running a scenario
// ---------------------------------------------------------------------------------------

fn fwd_dir() -> PathBuf {
    Path::new(ROOT).join("pcaps").join("fwd")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares the counters file with `expected.json`; one line per mismatch.
fn counter_problems(meta: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let got = &actual["counters"];
    let want = meta["counters"].as_object().cloned().unwrap_or_default();
    for (name, value) in &want {
        let g = got.get(name).and_then(Value::as_u64).unwrap_or(0);
        if Some(g) != value.as_u64() {
            out.push(format!("counter {name}: got {g}, expected {value}"));
        }
    }
    for (name, value) in got.as_object().into_iter().flatten() {
        if name.starts_with("drop.") && !want.contains_key(name) {
            out.push(format!("unexpected drops: {name} {value}"));
        }
    }
    let services = actual["services"].as_array().cloned().unwrap_or_default();
    for s in meta["services"].as_array().into_iter().flatten() {
        let key = s["service"].as_str().unwrap_or("?");
        let Some(a) = services.iter().find(|a| a["service"] == s["service"]) else {
            out.push(format!("service {key}: not listed"));
            continue;
        };
        for stat in ["conns", "inpkts", "outpkts", "inbytes", "outbytes"] {
            if a[stat] != s[stat] {
                out.push(format!(
                    "service {key} {stat}: got {}, expected {}",
                    a[stat], s[stat]
                ));
            }
        }
        let dests = a["dests"].as_array().cloned().unwrap_or_default();
        for d in s["dests"].as_array().into_iter().flatten() {
            let addr = d["addr"].as_str().unwrap_or("?");
            let Some(ad) = dests.iter().find(|x| x["addr"] == d["addr"]) else {
                out.push(format!("service {key}: real server {addr} not listed"));
                continue;
            };
            for (stat, value) in d.as_object().into_iter().flatten() {
                if stat != "addr" && ad[stat] != *value {
                    out.push(format!(
                        "service {key} -> {addr} {stat}: got {}, expected {value}",
                        ad[stat]
                    ));
                }
            }
        }
    }
    out
}

/// Replays scenario `name` with `engine`; every problem found, one per line.
fn replay_problems(name: &str, dir: &Path, meta: &Value, engine: &str) -> Vec<String> {
    let tmp = TempDir::new(&format!("fwd-{name}-{engine}"));
    let config = dir.join("config.toml");
    let counters = tmp.path("counters.json");
    let mut args: Vec<String> = vec![
        "replay".into(),
        "--engine".into(),
        engine.into(),
        "--config".into(),
        config.display().to_string(),
        "--counters".into(),
        counters.display().to_string(),
    ];
    let inputs = strings(&meta["inputs"]);
    let expected = strings(&meta["expected"]);
    let mut outputs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let out = tmp.path(&format!("out{i}.pcap"));
        args.extend([
            "--in".into(),
            dir.join(input).display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ]);
        outputs.push(out);
    }
    if let Some(script) = meta["script"].as_str() {
        args.extend(["--script".into(), dir.join(script).display().to_string()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = rvsd(&argv);
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    if !result.status.success() {
        return vec![format!(
            "rvsd replay failed ({}):\n{stdout}\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        )];
    }
    let mut problems = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with("script line")) {
        if !line.ends_with(": ok") {
            problems.push(format!("script: {line}"));
        }
    }
    let mut pending = Pending::new();
    for (q, (out, want_file)) in outputs.iter().zip(&expected).enumerate() {
        let notes = strings(&meta["notes"][q]);
        let got = match read_frames(out) {
            Ok(f) => f,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let want = match read_frames(&dir.join(want_file)) {
            Ok(f) => f,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        for (i, frame) in got.iter().enumerate() {
            for b in bad_checksums(frame, &mut pending) {
                problems.push(format!("queue {q} packet {i}: bad checksum {b}"));
            }
        }
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if let Some(diff) = first_difference(g, w) {
                let note = notes.get(i).map_or("", String::as_str);
                problems.push(format!("queue {q} packet {i} ({note}): {diff}"));
                break;
            }
        }
        if got.len() < want.len() {
            let next = notes.get(got.len()).map_or("", String::as_str);
            problems.push(format!(
                "queue {q}: {} packets sent, {} expected (first missing: {next})",
                got.len(),
                want.len()
            ));
        } else if got.len() > want.len() {
            let extra = got.get(want.len()).map(|f| dissect(f).summary());
            problems.push(format!(
                "queue {q}: {} packets sent, {} expected (first extra: {})",
                got.len(),
                want.len(),
                extra.unwrap_or_default()
            ));
        }
    }
    if !pending.is_empty() {
        problems.push(format!("incomplete IPv4 fragments: {:?}", pending.keys()));
    }
    match std::fs::read_to_string(&counters)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
    {
        Ok(actual) => problems.extend(counter_problems(meta, &actual)),
        Err(e) => problems.push(format!("{}: {e}", counters.display())),
    }
    if !problems.is_empty() {
        problems.push(format!("rvsd said:\n{stdout}"));
    }
    problems
}

fn run_scenario(name: &str) {
    let dir = fwd_dir().join(name);
    let text = std::fs::read_to_string(dir.join("expected.json"))
        .unwrap_or_else(|e| panic!("{name}: expected.json: {e} (run scripts/gen-fwd-pcaps.py)"));
    let meta: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    let engines = strings(&meta["engines"]);
    let mut ran = 0;
    for engine in ["dpdk", "pcap"] {
        if !engines.iter().any(|e| e == engine) {
            println!(
                "{name}: not run with the {engine} engine: the scenario changes the configuration \
                 mid-capture (--script), which only the pcap engine can"
            );
            continue;
        }
        if engine == "dpdk" && !is_root() {
            println!("skipped: {name} with the dpdk engine needs root (EAL memory setup)");
            continue;
        }
        let problems = replay_problems(name, &dir, &meta, engine);
        assert!(
            problems.is_empty(),
            "scenario {name} ({}), {engine} engine:\n{}",
            meta["description"].as_str().unwrap_or(""),
            problems.join("\n")
        );
        ran += 1;
    }
    assert!(ran > 0 || !is_root(), "{name}: no engine ran");
}

macro_rules! scenarios {
    ($($test:ident => $dir:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_scenario($dir);
            }
        )*
        /// Every scenario this file runs (a directory without a test fails
        /// `every_scenario_directory_is_tested`).
        const SCENARIOS: &[&str] = &[$($dir),*];
    };
}

scenarios! {
    dr => "dr",
    tun_ipip => "tun-ipip",
    tun_gre => "tun-gre",
    tun_gue => "tun-gue",
    nat => "nat",
    fullnat_toa => "fullnat-toa",
    fullnat_proxy => "fullnat-proxy",
    fullnat_proxy_udp => "fullnat-proxy-udp",
    fullnat_none => "fullnat-none",
    fullnat_two_workers => "fullnat-two-workers",
    sched_rr => "sched-rr",
    sched_wrr => "sched-wrr",
    sched_lc => "sched-lc",
    sched_wlc => "sched-wlc",
    sched_sed => "sched-sed",
    sched_nq => "sched-nq",
    sched_sh => "sched-sh",
    sched_dh => "sched-dh",
    sched_mh => "sched-mh",
    sched_lblc => "sched-lblc",
    sched_lblcr => "sched-lblcr",
    sched_fo => "sched-fo",
    sched_ovf => "sched-ovf",
    persistence => "persistence",
    quiescent => "quiescent",
    udp_expiry => "udp-expiry",
    tun_mtu => "tun-mtu",
    icmp_nat => "icmp-nat",
    icmp_fullnat => "icmp-fullnat",
    drops => "drops",
}

/// A UDP datagram arriving after its connection's idle timeout, with no other packet in
/// between, must start a new connection (IPVS's timer fires at the deadline). In a replay
/// the workers run their timers after each burst, with the time of the last packet, so that
/// datagram still finds the expired connection; `udp-expiry` shows expiry with traffic in
/// between. Run it with `--ignored` once timers run before a packet that moves time on.
#[test]
fn udp_expiry_strict() {
    run_scenario("udp-expiry-strict");
}

#[test]
fn every_scenario_directory_is_tested() {
    let mut dirs: Vec<String> = std::fs::read_dir(fwd_dir())
        .expect("pcaps/fwd exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    dirs.sort();
    let mut known: Vec<String> = SCENARIOS.iter().map(|s| s.to_string()).collect();
    known.push("udp-expiry-strict".into());
    known.sort();
    assert_eq!(dirs, known, "pcaps/fwd/ and the tests of this file differ");
}

/// The comparison names the field that differs, not just "bytes differ", and the checksum
/// check catches a corrupted frame: checked on the fixtures themselves, with one rewrite
/// undone by hand.
#[test]
fn a_wrong_rewrite_is_named_by_its_field_and_a_bad_checksum_is_caught() {
    let dir = fwd_dir().join("nat");
    let want = read_frames(&dir.join("expected.pcap")).unwrap();
    let mut pending = Pending::new();
    for frame in &want {
        assert!(bad_checksums(frame, &mut pending).is_empty());
    }
    // The SYN to rs1:8080 with its destination port left at 80 (checksum fixed up).
    let mut wrong = want[0].clone();
    wrong[36..38].copy_from_slice(&80u16.to_be_bytes());
    assert!(!bad_checksums(&wrong, &mut pending).is_empty());
    {
        let (src, dst) = (Ipv4Addr::new(198, 51, 100, 20), Ipv4Addr::new(10, 0, 0, 11));
        tcp::Packet::new_checked(&mut wrong[34..])
            .unwrap()
            .fill_checksum_v4(src, dst);
    }
    assert!(bad_checksums(&wrong, &mut pending).is_empty());
    let diff = first_difference(&wrong, &want[0]).unwrap();
    assert!(
        diff.starts_with("ipv4.tcp.dport: got 80, expected 8080"),
        "{diff}"
    );
    // TTL not decremented: the IPv4 checksum field differs after the TTL.
    let mut wrong = want[0].clone();
    wrong[22] += 1;
    assert_eq!(
        bad_checksums(&wrong, &mut pending),
        vec!["ipv4.checksum".to_string()]
    );
    let diff = first_difference(&wrong, &want[0]).unwrap();
    assert!(diff.starts_with("ipv4.ttl: got 60, expected 59"), "{diff}");
}
