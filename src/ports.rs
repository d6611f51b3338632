//! Setting the DPDK ports up from the configuration, and taking them down.
use control::config::Config;
use dpdk_sys::{Eal, Mempool, Port, PortConfig};

use crate::eal_args::port_name;
use crate::error::{DpdkContext, RvsdError};

/// The started ports (by configuration index) and the pool their RX queues fill from.
pub struct DpdkPorts {
    pub pool: Mempool,
    pub ports: Vec<Port>,
}

impl DpdkPorts {
    /// Each port's MAC, by index.
    pub fn macs(&self) -> Result<Vec<[u8; 6]>, RvsdError> {
        self.ports
            .iter()
            .map(|p| {
                p.mac()
                    .context(|| format!("reading the MAC of {}", p.name()))
            })
            .collect()
    }

    /// Stops and closes every port (flushing net_pcap's output files). All queue handles
    /// must be gone.
    pub fn close(&self) -> Result<(), RvsdError> {
        for p in &self.ports {
            p.close().context(|| format!("closing port {}", p.name()))?;
        }
        Ok(())
    }
}

/// Creates the pool, then configures and starts one port per device with `queues` RX and
/// TX queues (one per worker).
pub fn setup(
    eal: &Eal,
    cfg: &Config,
    devices: &[String],
    queues: u16,
    rx_timestamp: bool,
) -> Result<DpdkPorts, RvsdError> {
    let pool = Mempool::new(
        eal,
        "rvs_mbufs",
        cfg.dpdk.mbufs,
        cfg.dpdk.mbuf_cache,
        dpdk_sys::ffi::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
        dpdk_sys::ffi::SOCKET_ID_ANY,
    )
    .context(|| format!("creating a pool of {} mbufs (dpdk.mbufs)", cfg.dpdk.mbufs))?;
    let port_cfg = PortConfig {
        rx_queues: queues,
        tx_queues: queues,
        rx_desc: cfg.dpdk.rx_desc,
        tx_desc: cfg.dpdk.tx_desc,
        rx_timestamp,
        promiscuous: true,
    };
    let mut ports = Vec::with_capacity(devices.len());
    for (i, device) in devices.iter().enumerate() {
        let cfg_name = cfg.ports.get(i).map_or("?", |p| p.name.as_str());
        let name = port_name(device);
        let port = Port::by_name(eal, name).context(|| format!("port {cfg_name} ({device})"))?;
        port.configure(&port_cfg, &pool)
            .context(|| format!("configuring port {cfg_name} ({name})"))?;
        port.start()
            .context(|| format!("starting port {cfg_name} ({name})"))?;
        let info = port
            .info()
            .context(|| format!("port {cfg_name} ({name})"))?;
        let mac = port.mac().context(|| format!("port {cfg_name} ({name})"))?;
        let link = port.link().ok();
        log::info!(
            "port {cfg_name}: {name} driver {} mac {} queues {queues} link {}{}",
            info.driver,
            crate::report::mac_string(&mac),
            link.map_or("unknown", |l| if l.up { "up" } else { "down" }),
            if port.has_rx_timestamp() {
                ", rx timestamps"
            } else {
                ""
            }
        );
        ports.push(port);
    }
    Ok(DpdkPorts { pool, ports })
}
