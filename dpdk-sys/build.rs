//! Builds the bindings to the system DPDK (22.11, found with pkg-config) and the C shim
//! that exports DPDK's static-inline fast-path functions.
//!
//! The bindings are allow-listed to what rvs calls: keeping them small keeps the build
//! fast. Of `rte_flow.h` only the few items of a queue-steering rule are bound; its two
//! known bindgen traps (a packed struct holding an aligned one, E0588; a struct whose Debug
//! derive fails) are handled below in case a future allow-list entry pulls them in.
use std::env;
use std::path::PathBuf;
use std::process::Command;

/// DPDK functions rvs calls directly (non-inline, exported by the shared libraries).
const FUNCTIONS: &[&str] = &[
    "rte_eal_init",
    "rte_eal_cleanup",
    "rte_strerror",
    "rte_socket_id",
    "rte_version",
    "rte_eal_process_type",
    "rte_thread_register",
    "rte_thread_unregister",
    "rte_pktmbuf_pool_create",
    "rte_pktmbuf_free_bulk",
    "rte_mempool_free",
    "rte_mempool_avail_count",
    "rte_mempool_in_use_count",
    "rte_mbuf_dyn_rx_timestamp_register",
    "rte_mbuf_dynfield_lookup",
    "rte_mbuf_dynflag_lookup",
    "rte_eth_dev_count_avail",
    "rte_eth_dev_get_port_by_name",
    "rte_eth_dev_get_name_by_port",
    "rte_eth_dev_info_get",
    "rte_eth_dev_configure",
    "rte_eth_dev_socket_id",
    "rte_eth_rx_queue_setup",
    "rte_eth_tx_queue_setup",
    "rte_eth_dev_start",
    "rte_eth_dev_stop",
    "rte_eth_dev_close",
    "rte_eth_macaddr_get",
    "rte_eth_link_get_nowait",
    "rte_eth_promiscuous_enable",
    "rte_eth_stats_get",
    "rte_eth_stats_reset",
    "rte_eth_xstats_get",
    "rte_eth_xstats_get_names",
    "rte_eth_dev_rss_hash_conf_get",
    "rte_eth_dev_rss_hash_update",
    "rte_flow_validate",
    "rte_flow_create",
    "rte_flow_destroy",
    "rte_flow_flush",
    "rte_ring_create",
    "rte_ring_free",
    "rvs_.*",
];

/// Types the functions above do not name but rvs fills in (the `spec`/`mask`/`conf`
/// pointers of flow items and actions are `void *`).
const TYPES: &[&str] = &[
    "rte_flow_item_ipv4",
    "rte_flow_item_tcp",
    "rte_flow_item_udp",
    "rte_flow_action_queue",
    "rte_eth_rx_mq_mode",
];

/// Constants rvs needs from the headers.
const VARS: &[&str] = &[
    "RTE_MAX_ETHPORTS",
    "RTE_ETH_NAME_MAX_LEN",
    "RTE_MBUF_DEFAULT_BUF_SIZE",
    "RTE_PKTMBUF_HEADROOM",
    "RTE_ETH_LINK_.*",
    "RING_F_.*",
    "LCORE_ID_ANY",
    "SOCKET_ID_ANY",
    "RTE_ETH_XSTATS_NAME_SIZE",
    "RVS_ETH_RSS_.*",
];

fn main() {
    // Link flags come from pkg-config (shared libraries; the PMDs load as plugins).
    pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .expect("libdpdk (DPDK 22.11) not found by pkg-config: install libdpdk-dev");

    // The full cflags matter: they carry `-include rte_config.h` and `-march=corei7`,
    // without which the headers do not describe the library that was built.
    let cflags_out = Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("running pkg-config --cflags libdpdk");
    let cflags: Vec<String> = String::from_utf8_lossy(&cflags_out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();

    let mut shim = cc::Build::new();
    shim.file("shim/rvs_shim.c").warnings(false).opt_level(2);
    for flag in &cflags {
        shim.flag(flag);
    }
    shim.compile("rvs_dpdk_shim");

    let mut builder = bindgen::Builder::default()
        .header("shim/rvs_shim.h")
        .clang_args(&cflags)
        .rust_target(bindgen::RustTarget::stable(85, 0).expect("known rust target"))
        .generate_comments(false)
        .layout_tests(true)
        .derive_default(true)
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .no_debug("rte_flow_item_gtp_psc")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
    }
    for t in TYPES {
        builder = builder.allowlist_type(t);
    }
    for v in VARS {
        builder = builder.allowlist_var(v);
    }
    let bindings = builder.generate().expect("generating DPDK bindings");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs");
    println!("cargo:rerun-if-changed=shim/rvs_shim.h");
    println!("cargo:rerun-if-changed=shim/rvs_shim.c");
}
