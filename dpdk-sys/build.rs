//! Builds the bindings to the system DPDK (22.11, found with pkg-config) and the C shim
//! that exports DPDK's static-inline fast-path functions.
//!
//! The bindings are allow-listed to what rvs calls: keeping them small keeps the build
//! fast and keeps `rte_flow.h` (which needs bindgen work-arounds) out of the picture.
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
    "rte_ring_create",
    "rte_ring_free",
    "rvs_.*",
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
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for f in FUNCTIONS {
        builder = builder.allowlist_function(f);
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
