//! rvsd: the rvs director daemon.
fn main() {
    println!(
        "rvsd {} (DPDK {}, git {})",
        env!("CARGO_PKG_VERSION"),
        env!("RVS_DPDK_VERSION"),
        env!("RVS_GIT_REV")
    );
}
