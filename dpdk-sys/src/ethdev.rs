//! Ethernet ports: configuration (queues, RSS), start/stop, addresses, link, statistics,
//! and the per-queue burst I/O handles the workers own. Flow rules are in [`crate::flow`].
use std::cell::Cell;
use std::ffi::{CStr, CString, c_char};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrayvec::ArrayVec;

use crate::eal::Eal;
use crate::error::DpdkError;
use crate::ffi;
use crate::flow::FlowTable;
use crate::mbuf::Mbuf;
use crate::mempool::Mempool;
use crate::rss::{RssCapability, RssPlan};

/// Name of DPDK's RX timestamp dynamic field (`RTE_MBUF_DYNFIELD_TIMESTAMP_NAME`).
const TIMESTAMP_FIELD: &CStr = c"rte_dynfield_timestamp";
/// Name of DPDK's RX timestamp dynamic flag (`RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME`).
const TIMESTAMP_FLAG: &CStr = c"rte_dynflag_rx_timestamp";

/// The largest queue index a port handle tracks (the queue bitmask is 64 bits).
pub const MAX_QUEUES: u16 = 64;

/// How to set a port up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// Ask the driver for RX timestamps when it offers them (net_pcap gives the capture
    /// time of each record, which is what makes replay deterministic).
    pub rx_timestamp: bool,
    /// Receive frames for any destination MAC (needed behind a switch for VIPs announced by
    /// ARP with the port's MAC it is not, but harmless; failures are ignored for PMDs
    /// without the notion).
    pub promiscuous: bool,
    /// Spread received packets over the RX queues by RSS when there are several and the
    /// driver hashes IPv4 (see [`crate::rss`]); what was done is [`Port::rss_plan`].
    pub rss: bool,
}

/// What the driver says about a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub driver: String,
    pub max_rx_queues: u16,
    pub max_tx_queues: u16,
    pub rx_offload_capa: u64,
    pub rss: RssCapability,
}

/// Link state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    /// Mb/s (0 when unknown).
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// The generic port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// The RSS configuration a driver reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssHashConf {
    /// `RTE_ETH_RSS_*` bits.
    pub types: u64,
    pub key: Vec<u8>,
}

/// One extended statistic (`rte_eth_xstats`), by the driver's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xstat {
    pub name: String,
    pub value: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Attached,
    Configured,
    Started,
    Stopped,
    Closed,
}

/// One DPDK ethernet port. Clones share it.
#[derive(Clone)]
pub struct Port {
    inner: Arc<PortInner>,
}

struct PortInner {
    id: u16,
    name: String,
    state: Mutex<State>,
    /// Bit q set while the handle of queue q is alive.
    queues_out: AtomicU64,
    /// The RX pools must outlive the port's queues.
    pools: Mutex<Vec<Mempool>>,
    /// (field offset, flag bit) of the RX timestamp, when the driver fills it.
    timestamp: Mutex<Option<(i32, u64)>>,
    /// What configure did about RSS.
    rss: Mutex<RssPlan>,
    /// The key buffer `rte_eth_conf` points to, kept for the port's life: the driver keeps
    /// the pointer (ethdev copies `rte_eth_conf` shallowly) and may read the key again at
    /// any start. Set once, by configure.
    rss_key: Mutex<Vec<u8>>,
    /// Flow rules created through this port.
    flows: Mutex<FlowTable>,
    _eal: Eal,
}

impl Drop for PortInner {
    fn drop(&mut self) {
        let state = *self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if state == State::Started {
            // SAFETY: valid port id; no queue handle exists (each holds an Arc of us).
            unsafe { ffi::rte_eth_dev_stop(self.id) };
        }
        if state != State::Closed {
            // SAFETY: as above; closing releases the driver's resources and flushes files.
            unsafe { ffi::rte_eth_dev_close(self.id) };
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Port {
    /// The port DPDK created for device `name` (a vdev name such as `net_pcap0`, or a PCI
    /// address such as `0000:03:00.0`).
    pub fn by_name(eal: &Eal, name: &str) -> Result<Port, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::Invalid(format!("device name {name:?} has a NUL byte")))?;
        let mut id = 0u16;
        // SAFETY: EAL is initialised; cname is a valid C string; id is a valid out pointer.
        let ret = unsafe { ffi::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(DpdkError::Invalid(format!(
                "no DPDK port for device {name:?} (is the driver loaded and the device valid?)"
            )));
        }
        Ok(Port {
            inner: Arc::new(PortInner {
                id,
                name: name.to_string(),
                state: Mutex::new(State::Attached),
                queues_out: AtomicU64::new(0),
                pools: Mutex::new(Vec::new()),
                timestamp: Mutex::new(None),
                rss: Mutex::new(RssPlan::NotWanted),
                rss_key: Mutex::new(Vec::new()),
                flows: Mutex::new(FlowTable::default()),
                _eal: eal.clone(),
            }),
        })
    }

    /// Number of ports DPDK knows.
    pub fn count(_eal: &Eal) -> u16 {
        // SAFETY: EAL is initialised.
        unsafe { ffi::rte_eth_dev_count_avail() }
    }

    pub fn id(&self) -> u16 {
        self.inner.id
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub(crate) fn op(&self, what: &str) -> String {
        format!("{what}(port {} {})", self.inner.id, self.inner.name)
    }

    /// The port's flow-rule table (see [`crate::flow`]).
    pub(crate) fn flow_table(&self) -> std::sync::MutexGuard<'_, FlowTable> {
        lock(&self.inner.flows)
    }

    /// Flow rules need a configured, not closed, port.
    pub(crate) fn ensure_flow_state(&self, what: &str) -> Result<(), DpdkError> {
        let state = *lock(&self.inner.state);
        if matches!(state, State::Attached | State::Closed) {
            return Err(DpdkError::Invalid(format!(
                "cannot {what} port {} in state {state:?}",
                self.inner.name
            )));
        }
        Ok(())
    }

    /// What the driver reports.
    pub fn info(&self) -> Result<PortInfo, DpdkError> {
        let mut info = ffi::rte_eth_dev_info::default();
        // SAFETY: valid port id; info is a valid out pointer to a zeroed struct.
        let ret = unsafe { ffi::rte_eth_dev_info_get(self.inner.id, &mut info) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_dev_info_get"), ret));
        }
        let driver = if info.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: non-null driver name: a static NUL-terminated string of the PMD.
            unsafe { CStr::from_ptr(info.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(PortInfo {
            driver,
            max_rx_queues: info.max_rx_queues,
            max_tx_queues: info.max_tx_queues,
            rx_offload_capa: info.rx_offload_capa,
            rss: RssCapability {
                hash_types: info.flow_type_rss_offloads,
                key_len: info.hash_key_size,
                reta_size: info.reta_size,
            },
        })
    }

    /// Configures the queues, sets each RX queue up with `pool` and each TX queue with the
    /// driver's defaults. Allowed once, before [`Port::start`].
    pub fn configure(&self, cfg: &PortConfig, pool: &Mempool) -> Result<(), DpdkError> {
        let mut state = lock(&self.inner.state);
        if *state != State::Attached {
            return Err(DpdkError::Invalid(format!(
                "port {} is already configured",
                self.inner.name
            )));
        }
        if cfg.rx_queues > MAX_QUEUES || cfg.tx_queues > MAX_QUEUES {
            return Err(DpdkError::Invalid(format!(
                "at most {MAX_QUEUES} queues per port"
            )));
        }
        let info = self.info()?;
        if cfg.rx_queues > info.max_rx_queues || cfg.tx_queues > info.max_tx_queues {
            return Err(DpdkError::Invalid(format!(
                "port {} ({}) supports {} RX / {} TX queues, {} / {} asked \
                 (net_pcap: give one rx_pcap/tx_pcap per queue)",
                self.inner.name,
                info.driver,
                info.max_rx_queues,
                info.max_tx_queues,
                cfg.rx_queues,
                cfg.tx_queues
            )));
        }
        let mut conf = ffi::rte_eth_conf::default();
        // SAFETY: pure function returning a constant.
        let ts_offload = unsafe { ffi::rvs_rx_offload_timestamp() };
        let want_ts = cfg.rx_timestamp && info.rx_offload_capa & ts_offload != 0;
        if want_ts {
            conf.rxmode.offloads |= ts_offload;
        }
        let mut plan = RssPlan::new(cfg.rss, cfg.rx_queues, info.rss);
        let mut key_store = lock(&self.inner.rss_key);
        if let RssPlan::Hash { types, key } = &plan {
            *key_store = key.clone();
            conf.rxmode.mq_mode = ffi::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf = ffi::rte_eth_rss_conf {
                rss_key: key_store.as_mut_ptr(),
                rss_key_len: u8::try_from(key_store.len()).unwrap_or(u8::MAX),
                rss_hf: *types,
            };
        }
        let id = self.inner.id;
        // SAFETY: valid port id, stopped (never started); conf is a valid initialised struct;
        // the RSS key it points to lives in `self.inner.rss_key` for as long as the port (it
        // is set here only, and configure runs once).
        let mut ret =
            unsafe { ffi::rte_eth_dev_configure(id, cfg.rx_queues, cfg.tx_queues, &conf) };
        if ret != 0 && plan.spreads() {
            // A driver that offers hash types yet refuses this RSS set-up should still run:
            // without RSS the workers' hand-off carries the traffic.
            plan = RssPlan::Refused { code: ret.abs() };
            conf.rxmode.mq_mode = ffi::rte_eth_rx_mq_mode_RTE_ETH_MQ_RX_NONE;
            conf.rx_adv_conf.rss_conf = ffi::rte_eth_rss_conf::default();
            // SAFETY: as above; a failed configure leaves the port unconfigured, so it may be
            // configured again.
            ret = unsafe { ffi::rte_eth_dev_configure(id, cfg.rx_queues, cfg.tx_queues, &conf) };
        }
        drop(key_store);
        *lock(&self.inner.rss) = plan;
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_dev_configure"), ret));
        }
        // SAFETY: valid port id.
        let socket = unsafe { ffi::rte_eth_dev_socket_id(id) };
        let socket = u32::try_from(socket).unwrap_or(0);
        for q in 0..cfg.rx_queues {
            // SAFETY: configured port, q < configured RX queues; NULL conf = driver defaults;
            // the pool is kept alive in `pools` for as long as the port.
            let ret = unsafe {
                ffi::rte_eth_rx_queue_setup(
                    id,
                    q,
                    cfg.rx_desc,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            if ret != 0 {
                return Err(DpdkError::from_ret(
                    self.op(&format!("rte_eth_rx_queue_setup[{q}]")),
                    ret,
                ));
            }
        }
        lock(&self.inner.pools).push(pool.clone());
        for q in 0..cfg.tx_queues {
            // SAFETY: configured port, q < configured TX queues; NULL conf = driver defaults.
            let ret = unsafe {
                ffi::rte_eth_tx_queue_setup(id, q, cfg.tx_desc, socket, std::ptr::null())
            };
            if ret != 0 {
                return Err(DpdkError::from_ret(
                    self.op(&format!("rte_eth_tx_queue_setup[{q}]")),
                    ret,
                ));
            }
        }
        if cfg.promiscuous {
            // SAFETY: valid configured port. Failure only means the PMD has no such mode.
            unsafe { ffi::rte_eth_promiscuous_enable(id) };
        }
        *state = State::Configured;
        Ok(())
    }

    /// Whether the RX timestamp field is registered (buffers may then carry a timestamp;
    /// each says so with its flag).
    pub fn has_rx_timestamp(&self) -> bool {
        lock(&self.inner.timestamp).is_some()
    }

    /// Starts the port.
    pub fn start(&self) -> Result<(), DpdkError> {
        let mut state = lock(&self.inner.state);
        if !matches!(*state, State::Configured | State::Stopped) {
            return Err(DpdkError::Invalid(format!(
                "port {} cannot start from state {:?}",
                self.inner.name, *state
            )));
        }
        // SAFETY: valid, configured port.
        let ret = unsafe { ffi::rte_eth_dev_start(self.inner.id) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_dev_start"), ret));
        }
        // Drivers register the timestamp field at configure or start, some (net_pcap in
        // 22.11) without advertising the offload; the per-mbuf flag tells which packets
        // carry one, so looking it up whenever it exists is safe.
        let found = timestamp_dynfield();
        if let Some((offset, flag)) = found {
            crate::mbuf::set_rx_timestamp_field(offset, flag);
            let ns_per_unit = match self.info().map(|i| i.driver) {
                Ok(d) if d == "net_pcap" => 1000,
                _ => 1,
            };
            crate::mbuf::set_rx_timestamp_scale(self.inner.id, ns_per_unit);
        }
        *lock(&self.inner.timestamp) = found;
        *state = State::Started;
        drop(state);
        self.apply_rss_key();
        Ok(())
    }

    /// What configure did about RSS.
    pub fn rss_plan(&self) -> RssPlan {
        lock(&self.inner.rss).clone()
    }

    /// The RSS hash types and key the driver uses now (`rte_eth_dev_rss_hash_conf_get`);
    /// ENOTSUP from drivers that cannot tell.
    pub fn rss_hash_conf(&self) -> Result<RssHashConf, DpdkError> {
        let key_len = match self.info()?.rss.key_len {
            0 => crate::rss::DEFAULT_KEY_LEN,
            n => usize::from(n),
        };
        // Room for any key a driver may write (the length field is a u8).
        let mut key = [0u8; 256];
        let mut conf = ffi::rte_eth_rss_conf {
            rss_key: key.as_mut_ptr(),
            rss_key_len: u8::MAX,
            rss_hf: 0,
        };
        // SAFETY: valid port id; conf points to a 256-byte buffer, more than any key.
        let ret = unsafe { ffi::rte_eth_dev_rss_hash_conf_get(self.inner.id, &mut conf) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                self.op("rte_eth_dev_rss_hash_conf_get"),
                ret,
            ));
        }
        Ok(RssHashConf {
            types: conf.rss_hf,
            key: key.get(..key_len).map(<[u8]>::to_vec).unwrap_or_default(),
        })
    }

    /// Makes sure the driver hashes with the planned key: some drivers take the key of
    /// `rte_eth_conf` at start, others (net_null, for one) only through
    /// `rte_eth_dev_rss_hash_update`. Drivers that cannot report their key are left as
    /// they are; [`Port::rss_hash_conf`] tells the caller what is in effect.
    fn apply_rss_key(&self) {
        let RssPlan::Hash { types, key } = self.rss_plan() else {
            return;
        };
        match self.rss_hash_conf() {
            Ok(now) if now.key != key || now.types != types => {}
            _ => return,
        }
        let mut key = key;
        let mut conf = ffi::rte_eth_rss_conf {
            rss_key: key.as_mut_ptr(),
            rss_key_len: u8::try_from(key.len()).unwrap_or(u8::MAX),
            rss_hf: types,
        };
        // SAFETY: valid started port; conf points to the key, alive during the call (the
        // driver copies it). Failure leaves the driver's own key, which is only slower.
        unsafe { ffi::rte_eth_dev_rss_hash_update(self.inner.id, &mut conf) };
    }

    fn ensure_no_queue_out(&self, what: &str) -> Result<(), DpdkError> {
        let out = self.inner.queues_out.load(Ordering::Acquire);
        if out != 0 {
            return Err(DpdkError::Invalid(format!(
                "cannot {what} port {}: queue handles still in use (mask {out:#x})",
                self.inner.name
            )));
        }
        Ok(())
    }

    /// Stops the port. Refused while a queue handle is alive (a worker may be polling it).
    pub fn stop(&self) -> Result<(), DpdkError> {
        let mut state = lock(&self.inner.state);
        self.ensure_no_queue_out("stop")?;
        if *state != State::Started {
            return Ok(());
        }
        // SAFETY: valid started port; no queue handle exists, so no thread polls it.
        let ret = unsafe { ffi::rte_eth_dev_stop(self.inner.id) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_dev_stop"), ret));
        }
        *state = State::Stopped;
        Ok(())
    }

    /// Stops (if needed) and closes the port, releasing the driver's resources; net_pcap
    /// closes its output files here. Refused while a queue handle is alive.
    pub fn close(&self) -> Result<(), DpdkError> {
        self.ensure_no_queue_out("close")?;
        if self.flow_count() > 0 {
            self.flush_flows()?;
        }
        self.stop()?;
        let mut state = lock(&self.inner.state);
        if *state == State::Closed {
            return Ok(());
        }
        // SAFETY: valid stopped port with no queue handle.
        let ret = unsafe { ffi::rte_eth_dev_close(self.inner.id) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_dev_close"), ret));
        }
        *state = State::Closed;
        Ok(())
    }

    /// Takes the handle of queue `q` (RX and TX queue q). Each queue can be taken once at a
    /// time; the port must be started.
    pub fn queue(&self, q: u16) -> Result<EthQueue, DpdkError> {
        if *lock(&self.inner.state) != State::Started {
            return Err(DpdkError::Invalid(format!(
                "port {} is not started",
                self.inner.name
            )));
        }
        if q >= MAX_QUEUES {
            return Err(DpdkError::Invalid(format!("queue {q} out of range")));
        }
        let bit = 1u64 << q;
        if self.inner.queues_out.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(DpdkError::Invalid(format!(
                "queue {q} of port {} is already taken",
                self.inner.name
            )));
        }
        Ok(EthQueue {
            port: self.inner.clone(),
            queue: q,
            timestamp: *lock(&self.inner.timestamp),
            _not_sync: PhantomData,
        })
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6], DpdkError> {
        let mut addr = ffi::rte_ether_addr::default();
        // SAFETY: valid port id; addr is a valid out pointer.
        let ret = unsafe { ffi::rte_eth_macaddr_get(self.inner.id, &mut addr) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_macaddr_get"), ret));
        }
        Ok(addr.addr_bytes)
    }

    /// Link state, without waiting.
    pub fn link(&self) -> Result<LinkStatus, DpdkError> {
        let mut link = ffi::rte_eth_link::default();
        // SAFETY: valid port id; link is a valid out pointer.
        let ret = unsafe { ffi::rte_eth_link_get_nowait(self.inner.id, &mut link) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_link_get_nowait"), ret));
        }
        Ok(LinkStatus {
            up: u32::from(link.link_status()) == ffi::RTE_ETH_LINK_UP,
            speed_mbps: link.link_speed,
            full_duplex: u32::from(link.link_duplex()) == ffi::RTE_ETH_LINK_FULL_DUPLEX,
        })
    }

    /// The generic counters.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let mut s = ffi::rte_eth_stats::default();
        // SAFETY: valid port id; s is a valid out pointer. Thread-safe read of counters.
        let ret = unsafe { ffi::rte_eth_stats_get(self.inner.id, &mut s) };
        if ret != 0 {
            return Err(DpdkError::from_ret(self.op("rte_eth_stats_get"), ret));
        }
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// The driver's extended counters, by name.
    pub fn xstats(&self) -> Result<Vec<Xstat>, DpdkError> {
        let id = self.inner.id;
        // SAFETY: valid port id; a NULL array with size 0 asks for the count.
        let n = unsafe { ffi::rte_eth_xstats_get_names(id, std::ptr::null_mut(), 0) };
        let n = u32::try_from(n)
            .map_err(|_| DpdkError::from_ret(self.op("rte_eth_xstats_get_names"), n))?;
        let len = n as usize;
        let mut names = vec![ffi::rte_eth_xstat_name { name: [0; 64] }; len];
        let mut values = vec![ffi::rte_eth_xstat::default(); len];
        // SAFETY: both arrays hold n elements, as we tell DPDK.
        let got_names = unsafe { ffi::rte_eth_xstats_get_names(id, names.as_mut_ptr(), n) };
        // SAFETY: as above.
        let got_values = unsafe { ffi::rte_eth_xstats_get(id, values.as_mut_ptr(), n) };
        if got_names < 0 || got_values < 0 {
            return Err(DpdkError::from_ret(
                self.op("rte_eth_xstats_get"),
                got_names.min(got_values),
            ));
        }
        let count = (got_names.min(got_values) as usize).min(len);
        let mut out = Vec::with_capacity(count);
        for v in values.iter().take(count) {
            let Some(name) = usize::try_from(v.id).ok().and_then(|i| names.get(i)) else {
                continue;
            };
            // SAFETY: DPDK writes NUL-terminated names into the 64-byte arrays; the array is
            // zero-initialised, so a NUL exists within it even if the driver wrote nothing.
            let name = unsafe { CStr::from_ptr(name.name.as_ptr().cast::<c_char>()) };
            out.push(Xstat {
                name: name.to_string_lossy().into_owned(),
                value: v.value,
            });
        }
        Ok(out)
    }
}

/// Looks up the RX timestamp dynfield and dynflag (registered by the driver at configure).
fn timestamp_dynfield() -> Option<(i32, u64)> {
    // SAFETY: lookup by name of DPDK-registered mbuf fields; NULL params are allowed.
    let offset =
        unsafe { ffi::rte_mbuf_dynfield_lookup(TIMESTAMP_FIELD.as_ptr(), std::ptr::null_mut()) };
    // SAFETY: as above.
    let bit =
        unsafe { ffi::rte_mbuf_dynflag_lookup(TIMESTAMP_FLAG.as_ptr(), std::ptr::null_mut()) };
    if offset < 0 || !(0..64).contains(&bit) {
        return None;
    }
    Some((offset, 1u64 << bit))
}

/// The I/O handle of queue q (RX queue q and TX queue q) of one port: owned by exactly one
/// worker thread (`Send`, not `Sync`), as DPDK requires of a queue.
pub struct EthQueue {
    port: Arc<PortInner>,
    queue: u16,
    timestamp: Option<(i32, u64)>,
    _not_sync: PhantomData<Cell<()>>,
}

impl EthQueue {
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives up to `max` packets (at most the free capacity of `out`), appending;
    /// returns how many arrived.
    pub fn rx_burst<const N: usize>(&mut self, out: &mut ArrayVec<Mbuf, N>, max: usize) -> usize {
        let room = out.remaining_capacity().min(max);
        if room == 0 {
            return 0;
        }
        let mut raw = [std::ptr::null_mut::<ffi::rte_mbuf>(); 64];
        let room = room.min(raw.len());
        // SAFETY: started port (checked when the handle was taken; stop is refused while it
        // lives), queue owned by this handle only, raw has room for `room` pointers.
        let got = unsafe {
            ffi::rvs_eth_rx_burst(self.port.id, self.queue, raw.as_mut_ptr(), room as u16)
        };
        let got = usize::from(got).min(room);
        for &m in raw.iter().take(got) {
            if let Some(m) = std::ptr::NonNull::new(m) {
                // SAFETY: the driver hands us ownership of each received mbuf; `out` has room
                // (got <= remaining capacity).
                out.push(unsafe { Mbuf::from_raw(m) });
            }
        }
        got
    }

    /// Transmits from the front of `bufs`; sent buffers are removed (the driver owns them
    /// now), unsent ones stay at the front. Returns how many were sent.
    pub fn tx_burst<const N: usize>(&mut self, bufs: &mut ArrayVec<Mbuf, N>) -> usize {
        let n = bufs.len().min(usize::from(u16::MAX));
        if n == 0 {
            return 0;
        }
        // `Mbuf` is repr(transparent) over the mbuf pointer, so the vector's storage is an
        // array of `struct rte_mbuf *`.
        let ptr = bufs.as_mut_ptr().cast::<*mut ffi::rte_mbuf>();
        // SAFETY: started port, queue owned by this handle; `ptr` points at n valid owned mbufs.
        let sent = unsafe { ffi::rvs_eth_tx_burst(self.port.id, self.queue, ptr, n as u16) };
        let sent = usize::from(sent).min(n);
        for m in bufs.drain(..sent) {
            // The driver took these: forget them without freeing.
            let _ = m.into_raw();
        }
        sent
    }

    /// Whether this queue's port fills RX timestamps.
    pub fn has_rx_timestamp(&self) -> bool {
        self.timestamp.is_some()
    }
}

impl Drop for EthQueue {
    fn drop(&mut self) {
        self.port
            .queues_out
            .fetch_and(!(1u64 << self.queue), Ordering::AcqRel);
    }
}
