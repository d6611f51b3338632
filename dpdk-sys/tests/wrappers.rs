//! The safe wrappers against a real EAL. EAL initialises once per process, so this binary
//! holds a single test that walks through every wrapper in order.
use arrayvec::ArrayVec;
use dpdk_sys::{DpdkError, Eal, Mempool, Port, PortConfig, ThreadRegistration, spsc_ring};

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

#[test]
fn eal_mempool_mbuf_ring_and_port_wrappers() {
    if !is_root() {
        println!("skipped: EAL initialisation needs root");
        return;
    }
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
        "--vdev",
        "net_ring0",
    ])
    .expect("EAL init");
    assert_eq!(
        Eal::init(&["--no-huge"]).err(),
        Some(DpdkError::AlreadyInitialised)
    );
    assert!(dpdk_sys::version().starts_with("DPDK 22.11"));
    // The main thread is an EAL lcore already: registering is a no-op.
    assert_eq!(dpdk_sys::lcore_id(), Some(0));
    assert!(ThreadRegistration::register(&eal).unwrap().is_none());
    // Another thread gets an lcore id while registered, and loses it after.
    let e2 = eal.clone();
    std::thread::spawn(move || {
        assert_eq!(dpdk_sys::lcore_id(), None);
        let reg = ThreadRegistration::register(&e2).unwrap();
        assert!(reg.is_some());
        assert!(dpdk_sys::lcore_id().is_some());
        drop(reg);
        assert_eq!(dpdk_sys::lcore_id(), None);
    })
    .join()
    .unwrap();

    let pool = Mempool::new(&eal, "test_pool", 511, 32, 2176, -1).expect("pool");
    assert!(
        Mempool::new(&eal, "test_pool", 511, 32, 2176, -1).is_err(),
        "name reuse"
    );

    // Headroom operations on a fresh mbuf.
    let mut m = pool.alloc().expect("mbuf");
    assert_eq!(m.data().len(), 0);
    assert_eq!(m.headroom(), 128);
    assert!(m.append(60));
    m.data_mut().copy_from_slice(&[7u8; 60]);
    assert!(m.prepend(14));
    assert_eq!(m.data().len(), 74);
    assert_eq!(m.headroom(), 114);
    assert!(!m.prepend(200), "more than the headroom");
    assert!(m.adj(14));
    assert_eq!(m.data(), &[7u8; 60][..]);
    assert!(m.trim(10));
    assert_eq!(m.data().len(), 50);
    assert!(!m.trim(51));
    assert_eq!(m.nb_segs(), 1);
    let in_use = pool.in_use_count();
    drop(m);
    assert_eq!(pool.in_use_count(), in_use - 1);

    // An SP/SC ring moves mbufs without copying or losing them.
    let (mut producer, mut consumer) = spsc_ring(&eal, "test_ring", 64, -1).unwrap();
    let mut burst: ArrayVec<_, 64> = ArrayVec::new();
    for i in 0..5u8 {
        let mut m = pool.alloc().unwrap();
        assert!(m.append(1));
        m.data_mut()[0] = i;
        burst.push(m);
    }
    assert_eq!(producer.enqueue_burst(&mut burst), 5);
    assert!(burst.is_empty());
    assert_eq!(consumer.len(), 5);
    let mut out: ArrayVec<_, 64> = ArrayVec::new();
    assert_eq!(consumer.dequeue_burst(&mut out), 5);
    let got: Vec<u8> = out.iter().map(|m| m.data()[0]).collect();
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    out.clear();

    // net_ring0 loops TX back to RX: a port end to end.
    let port = Port::by_name(&eal, "net_ring0").expect("port");
    assert!(Port::by_name(&eal, "net_nonexistent0").is_err());
    let info = port.info().unwrap();
    assert_eq!(info.driver, "net_ring");
    let cfg = PortConfig {
        rx_queues: 1,
        tx_queues: 1,
        rx_desc: 128,
        tx_desc: 128,
        rx_timestamp: false,
        promiscuous: true,
        rss: true,
    };
    assert!(port.queue(0).is_err(), "not started");
    port.configure(&cfg, &pool).unwrap();
    assert!(port.configure(&cfg, &pool).is_err(), "configured twice");
    port.start().unwrap();
    assert!(port.link().unwrap().up);
    let _mac = port.mac().unwrap();
    let mut q = port.queue(0).unwrap();
    assert!(port.queue(0).is_err(), "a queue is handed out once");
    for i in 0..3u8 {
        let mut m = pool.alloc().unwrap();
        assert!(m.append(60));
        m.data_mut()[0] = i;
        burst.push(m);
    }
    assert_eq!(q.tx_burst(&mut burst), 3);
    assert_eq!(q.rx_burst(&mut out, 2), 2, "at most max");
    assert_eq!(q.rx_burst(&mut out, 64), 1);
    let got: Vec<u8> = out.iter().map(|m| m.data()[0]).collect();
    assert_eq!(got, vec![0, 1, 2]);
    assert!(out.iter().all(|m| m.rx_timestamp().is_none()));
    out.clear();
    let st = port.stats().unwrap();
    assert_eq!((st.ipackets, st.opackets), (3, 3));
    let xs = port.xstats().unwrap();
    assert!(
        xs.iter()
            .any(|x| x.name == "rx_good_packets" && x.value == 3),
        "{xs:?}"
    );
    assert!(port.stop().is_err(), "refused while the queue handle lives");
    drop(q);
    port.close().unwrap();
    drop(port);
    drop(producer);
    drop(consumer);
    drop(pool);
    drop(eal);
}
