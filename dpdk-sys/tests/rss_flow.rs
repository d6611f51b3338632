//! RSS and rte_flow against real drivers (one EAL for the binary, so one test):
//!
//! - net_null hashes (it offers every IP hash type and keeps a key): a port with two
//!   queues is configured for RSS over IPv4 with the symmetric key, and the driver reports
//!   exactly that back;
//! - net_ring offers no hash: the plan says so and the port still runs;
//! - net_null has no flow API: validation fails with ENOSYS, nothing is created;
//! - net_tap without the kernel's multiq qdisc (this machine) validates a rule but cannot
//!   create it — the other way a driver refuses, which the daemon's fallback also covers.
//!
//! No driver here creates rules (net_tap would, given multiq), so rule creation on hardware
//! is not exercised.
use std::net::Ipv4Addr;

use dpdk_sys::rss::{RssPlan, WANTED_HASH, symmetric_key};
use dpdk_sys::{DpdkError, Eal, L4Proto, Mempool, Port, PortConfig, QueueRule};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn config(queues: u16, rss: bool) -> PortConfig {
    PortConfig {
        rx_queues: queues,
        tx_queues: queues,
        rx_desc: 128,
        tx_desc: 128,
        rx_timestamp: false,
        promiscuous: false,
        rss,
    }
}

fn rule(queue: u16) -> QueueRule {
    QueueRule {
        dst: Ipv4Addr::new(10, 0, 0, 50),
        proto: L4Proto::Tcp,
        dst_port: queue,
        dst_port_mask: 1,
        queue,
    }
}

fn code(e: &DpdkError) -> i32 {
    match e {
        DpdkError::Call { code, .. } => *code,
        other => panic!("not a DPDK call error: {other}"),
    }
}

#[test]
fn rss_is_configured_where_offered_and_flow_rules_fail_cleanly_where_not() {
    if !is_root() {
        println!("skipped: EAL initialisation needs root");
        return;
    }
    let tap = format!("rvsft{}", std::process::id() % 100_000);
    let tap_dev = format!("net_tap0,iface={tap}");
    let eal = Eal::init(&[
        "-l",
        "0",
        "--no-huge",
        "--no-shconf",
        "-m",
        "128",
        "--no-pci",
        "--no-telemetry",
        "--log-level=lib.eal:error",
        "--log-level=pmd.net.tap:critical",
        "--vdev",
        "net_null0",
        "--vdev",
        "net_null1",
        "--vdev",
        "net_ring0",
        "--vdev",
        &tap_dev,
    ])
    .expect("EAL init");
    let pool = Mempool::new(&eal, "rss_pool", 1023, 32, 2176, -1).expect("pool");

    // net_null, two queues: RSS over the IPv4 types with the symmetric key.
    let null = Port::by_name(&eal, "net_null0").unwrap();
    let capa = null.info().unwrap().rss;
    assert_ne!(capa.hash_types & WANTED_HASH, 0, "{capa:?}");
    assert!(
        null.validate_flow(&rule(0)).is_err(),
        "flows need a configured port"
    );
    null.configure(&config(2, true), &pool).unwrap();
    null.start().unwrap();
    let RssPlan::Hash { types, key } = null.rss_plan() else {
        panic!("{:?}", null.rss_plan())
    };
    assert_eq!(types, WANTED_HASH & capa.hash_types);
    assert_eq!(key, symmetric_key(40));
    let now = null
        .rss_hash_conf()
        .expect("net_null reports its RSS configuration");
    assert_eq!(now.types, types, "the hash types the driver uses");
    assert_eq!(now.key, symmetric_key(40), "the key the driver uses");

    // No flow API: validation fails with ENOSYS, creation too, nothing is left behind.
    let e = null.validate_flow(&rule(1)).unwrap_err();
    assert_eq!(code(&e), libc::ENOSYS, "{e}");
    assert!(e.to_string().contains("rte_flow_validate"), "{e}");
    assert_eq!(code(&null.create_flow(&rule(1)).unwrap_err()), libc::ENOSYS);
    assert_eq!(null.flow_count(), 0);
    assert_eq!(code(&null.flush_flows().unwrap_err()), libc::ENOSYS);
    null.close().unwrap();
    assert!(null.validate_flow(&rule(1)).is_err(), "closed");

    // One queue, or RSS not asked for: the default configuration.
    let single = Port::by_name(&eal, "net_null1").unwrap();
    single.configure(&config(1, true), &pool).unwrap();
    assert_eq!(single.rss_plan(), RssPlan::SingleQueue);
    single.close().unwrap();

    // net_ring: no hash offered; two queues still run.
    let ring = Port::by_name(&eal, "net_ring0").unwrap();
    ring.configure(&config(2, true), &pool).unwrap();
    ring.start().unwrap();
    assert_eq!(ring.rss_plan(), RssPlan::Unsupported { offered: 0 });
    ring.close().unwrap();

    // net_tap without multiq: the rule validates, creation fails; RSS is not wanted on a
    // kernel-side port.
    let tap_port = Port::by_name(&eal, "net_tap0").unwrap();
    tap_port.configure(&config(2, false), &pool).unwrap();
    tap_port.start().unwrap();
    assert_eq!(tap_port.rss_plan(), RssPlan::NotWanted);
    tap_port.validate_flow(&rule(1)).expect("net_tap validates");
    let e = tap_port.create_flow(&rule(1)).unwrap_err();
    assert!(e.to_string().contains("rte_flow_create"), "{e}");
    assert_eq!(tap_port.flow_count(), 0);
    tap_port.close().unwrap();
    drop(pool);
    drop(eal);
}
