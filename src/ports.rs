//! Setting the DPDK ports up from the configuration, and taking them down.
//!
//! Network ports get one RX/TX queue pair per worker and, with several workers, RSS where
//! the driver hashes IPv4 (see `dpdk_sys::rss`); what each port got is logged once at
//! start. The kernel-side ports do without RSS: the kernel chooses the TAP queue a packet
//! goes to, and net_tap offers RSS only as a flow action.
use control::config::Config;
use dpdk_sys::rss::{RssPlan, hash_type_names};
use dpdk_sys::{Eal, Mempool, Port, PortConfig};

use crate::eal_args::port_name;
use crate::error::{DpdkContext, RvsdError};
use crate::kport::{self, KernelPort};

/// The started ports and the pool their RX queues fill from.
pub struct DpdkPorts {
    pub pool: Mempool,
    /// The network ports, by configuration index.
    pub ports: Vec<Port>,
    /// The kernel-side ports (TAPs), in network-port order; in the dataplane they follow
    /// the network ports.
    pub kernel: Vec<(KernelPort, Port)>,
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

    /// Every port in dataplane order: the network ports, then the kernel-side ports.
    pub fn all(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().chain(self.kernel.iter().map(|(_, p)| p))
    }

    /// The kernel-side MAC of each network port (its own MAC, which the TAP's kernel
    /// interface was given), `None` for ports without one.
    pub fn kernel_macs(&self) -> Result<Vec<Option<[u8; 6]>>, RvsdError> {
        let macs = self.macs()?;
        Ok(macs
            .iter()
            .enumerate()
            .map(|(i, mac)| {
                self.kernel
                    .iter()
                    .any(|(k, _)| k.network == i)
                    .then_some(*mac)
            })
            .collect())
    }

    /// Stops and closes every port (flushing net_pcap's output files; a TAP's kernel
    /// interface disappears with its addresses and routes). All queue handles must be gone.
    pub fn close(&self) -> Result<(), RvsdError> {
        for p in self.all() {
            p.close().context(|| format!("closing port {}", p.name()))?;
        }
        Ok(())
    }
}

/// Configures and starts the kernel-side ports `planned` (their net_tap devices were
/// created with the EAL) with `queues` queues each, and gives each kernel interface its
/// network port's identity (see [`kport::kernel`]).
pub fn add_kernel_ports(
    eal: &Eal,
    cfg: &Config,
    dp: &mut DpdkPorts,
    planned: &[KernelPort],
    queues: u16,
) -> Result<(), RvsdError> {
    let port_cfg = PortConfig {
        rx_queues: queues,
        tx_queues: queues,
        rx_desc: cfg.dpdk.rx_desc,
        tx_desc: cfg.dpdk.tx_desc,
        rx_timestamp: false,
        // The kernel interface has the port's MAC; it needs no frames for others.
        promiscuous: false,
        rss: false,
    };
    let macs = dp.macs()?;
    for k in planned {
        let what = || {
            format!(
                "kernel port {} (of port {})",
                k.tap,
                port_label(cfg, k.network)
            )
        };
        let (Some(mac), Some(pc)) = (macs.get(k.network), cfg.ports.get(k.network)) else {
            return Err(RvsdError::Other(format!(
                "{}: no such network port",
                what()
            )));
        };
        let port = Port::by_name(eal, &k.device).context(what)?;
        kport::kernel::run(&kport::kernel::quiet_port_interface(&pc.device))
            .map_err(|e| RvsdError::Other(format!("port {}: {e}", pc.name)))?;
        kport::kernel::run(&kport::kernel::before_start(&k.tap))
            .map_err(|e| RvsdError::Other(format!("{}: {e}", what())))?;
        port.configure(&port_cfg, &dp.pool).context(what)?;
        port.start().context(what)?;
        kport::kernel::run(&kport::kernel::after_start(cfg, k.network, &k.tap, *mac))
            .map_err(|e| RvsdError::Other(format!("{}: {e}", what())))?;
        log::info!(
            "kernel port {} ({}) for port {}: mac {}, queues {queues}",
            k.tap,
            k.device,
            pc.name,
            crate::report::mac_string(mac)
        );
        dp.kernel.push((k.clone(), port));
    }
    Ok(())
}

/// What a network port does with RSS, for the start-up log (`None`: one queue).
fn rss_line(port: &Port) -> Option<String> {
    match port.rss_plan() {
        RssPlan::NotWanted | RssPlan::SingleQueue => None,
        RssPlan::Unsupported { offered } => Some(format!(
            "no RSS (the driver hashes {}): packets are not spread by hash (a NIC puts them \
             all on queue 0); the workers hand each to its owner",
            hash_type_names(offered)
        )),
        RssPlan::Refused { code } => Some(format!(
            "no RSS: the driver refused it (error {code}); the workers hand each packet to \
             its owner"
        )),
        RssPlan::Hash { types, key } => {
            let key_state = match port.rss_hash_conf() {
                Ok(now) if now.key == key => "symmetric key",
                Ok(_) => "the driver's own key (it refused the symmetric one)",
                Err(_) => "symmetric key asked (the driver does not report its key)",
            };
            Some(format!("RSS over {} ({key_state})", hash_type_names(types)))
        }
    }
}

fn port_label(cfg: &Config, index: usize) -> String {
    cfg.ports
        .get(index)
        .map_or_else(|| format!("#{index}"), |p| p.name.clone())
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
        rss: true,
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
        if let Some(line) = rss_line(&port) {
            log::info!("port {cfg_name}: {line}");
        }
        ports.push(port);
    }
    Ok(DpdkPorts {
        pool,
        ports,
        kernel: Vec::new(),
    })
}
