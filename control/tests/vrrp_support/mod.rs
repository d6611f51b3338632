//! Test bed for the VRRP driver against a real keepalived: two network namespaces joined
//! by a veth pair, the rvs driver in one (this test binary re-executed under
//! `ip netns exec` running the ignored `vrrp_role` test), Debian's keepalived in the other
//! with its own configuration, pid files and a notify script that logs its states.
//!
//! Everything is removed on drop (processes killed, namespaces deleted). Tests take a
//! global lock so they run one at a time: their timing figures must not be disturbed by
//! each other on a two-core machine.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const RVS_IP: &str = "10.200.0.1";
pub const KA_IP: &str = "10.200.0.2";
pub const SPOOF_IP: &str = "10.200.0.3";
pub const VIP: &str = "10.200.0.100";
pub const RVS_IF: &str = "vr0";
pub const KA_IF: &str = "vk0";

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Holds the global test lock; tests run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// True (and prints why) when the test cannot run here.
pub fn skip() -> bool {
    if !is_root() {
        println!("skipped: needs root");
        return true;
    }
    if Command::new("keepalived")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: keepalived is not installed");
        return true;
    }
    false
}

/// Seconds since the epoch, as a float (the notify script logs `date +%s.%N`).
pub fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn run(cmd: &[&str]) -> String {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `cond` every 20 ms until it holds or `limit` passes; returns the time it took.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Two namespaces, `rvs` and `ka`, joined by a veth pair.
pub struct Topo {
    pub rvs_ns: String,
    pub ka_ns: String,
    pub dir: tempfile::TempDir,
}

impl Topo {
    pub fn new() -> Topo {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}-{n}", std::process::id());
        let rvs_ns = format!("rvsv-r-{tag}");
        let ka_ns = format!("rvsv-k-{tag}");
        // Scripts keepalived runs must sit in directories only root can write.
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = tempfile::Builder::new()
            .prefix("vrrp-")
            .tempdir_in(base)
            .expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let topo = Topo { rvs_ns, ka_ns, dir };
        run(&["ip", "netns", "add", &topo.rvs_ns]);
        run(&["ip", "netns", "add", &topo.ka_ns]);
        run(&[
            "ip",
            "link",
            "add",
            "rvsvtmp0",
            "netns",
            &topo.rvs_ns,
            "type",
            "veth",
            "peer",
            "name",
            "rvsvtmp1",
            "netns",
            &topo.ka_ns,
        ]);
        topo.ip_r(&["link", "set", "rvsvtmp0", "name", RVS_IF]);
        topo.ip_k(&["link", "set", "rvsvtmp1", "name", KA_IF]);
        topo.ip_r(&["addr", "add", &format!("{RVS_IP}/24"), "dev", RVS_IF]);
        topo.ip_k(&["addr", "add", &format!("{KA_IP}/24"), "dev", KA_IF]);
        for (ns, dev) in [(&topo.rvs_ns, RVS_IF), (&topo.ka_ns, KA_IF)] {
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        // Let gratuitous ARPs create neighbour entries on the keepalived side, so the
        // test can see them.
        run(&[
            "ip",
            "netns",
            "exec",
            &topo.ka_ns,
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.arp_accept=1",
        ]);
        run(&[
            "ip",
            "netns",
            "exec",
            &topo.ka_ns,
            "sysctl",
            "-qw",
            &format!("net.ipv4.conf.{KA_IF}.arp_accept=1"),
        ]);
        topo
    }

    pub fn ip_r(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", &self.rvs_ns];
        v.extend_from_slice(args);
        run(&v)
    }

    pub fn ip_k(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", &self.ka_ns];
        v.extend_from_slice(args);
        run(&v)
    }

    /// The MAC address of an interface in a namespace.
    pub fn mac(&self, ns: &str, dev: &str) -> String {
        let out = run(&["ip", "-n", ns, "-o", "link", "show", dev]);
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }

    /// Whether the keepalived namespace holds the VIP on its interface.
    pub fn ka_has_vip(&self) -> bool {
        self.ip_k(&["-4", "-o", "addr", "show", "dev", KA_IF])
            .contains(&format!("inet {VIP}/"))
    }

    /// The keepalived side's neighbour entry for the VIP (MAC), if any.
    pub fn ka_neigh_of_vip(&self) -> Option<String> {
        let out = self.ip_k(&["neigh", "show", VIP, "dev", KA_IF]);
        out.split_whitespace()
            .skip_while(|w| *w != "lladdr")
            .nth(1)
            .map(str::to_string)
    }

    /// Runs a Python/scapy program in the keepalived namespace.
    pub fn scapy(&self, program: &str) {
        let path = self.dir.path().join("inject.py");
        fs::write(&path, program).unwrap();
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ka_ns, "/usr/bin/python3"])
            .arg(&path)
            .output()
            .expect("run scapy");
        assert!(
            out.status.success(),
            "scapy failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        for ns in [&self.rvs_ns, &self.ka_ns] {
            // Kill whatever still runs in the namespace, then delete it.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A keepalived in the `ka` namespace.
pub struct Keepalived {
    child: Child,
    pub states: PathBuf,
    vrrp_pid: PathBuf,
    pub log: PathBuf,
}

/// The parameters of the keepalived instance (VRID 51, VIP, interface vk0).
#[derive(Debug, Clone)]
pub struct KaConf {
    pub priority: u8,
    pub version: u8,
    pub advert_int: &'static str,
    pub password: Option<&'static str>,
    pub unicast: bool,
    pub extra: &'static str,
    /// Run in the rvs namespace on the rvs interface instead (a keepalived reference for
    /// what rvs does).
    pub on_rvs_side: bool,
}

impl Default for KaConf {
    fn default() -> Self {
        KaConf {
            priority: 100,
            version: 2,
            advert_int: "1",
            password: Some("secret"),
            unicast: false,
            extra: "",
            on_rvs_side: false,
        }
    }
}

impl Keepalived {
    pub fn start(topo: &Topo, name: &str, c: &KaConf) -> Keepalived {
        let dir = topo.dir.path();
        let states = dir.join(format!("{name}.states"));
        let notify = dir.join(format!("{name}.notify.sh"));
        fs::write(
            &notify,
            format!(
                "#!/bin/sh\necho \"$(date +%s.%N) $3 $4\" >> {}\n",
                states.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&notify, fs::Permissions::from_mode(0o755)).unwrap();
        let auth = match (c.version, c.password) {
            (2, Some(p)) => format!("authentication {{\n auth_type PASS\n auth_pass {p}\n }}"),
            _ => String::new(),
        };
        let (ns, iface, me, peer) = if c.on_rvs_side {
            (&topo.rvs_ns, RVS_IF, RVS_IP, KA_IP)
        } else {
            (&topo.ka_ns, KA_IF, KA_IP, RVS_IP)
        };
        let unicast = if c.unicast {
            format!("unicast_src_ip {me}\n unicast_peer {{\n {peer}\n }}")
        } else {
            String::new()
        };
        let conf = format!(
            "global_defs {{\n router_id ka_{name}\n script_user root\n enable_script_security\n}}\n\
             vrrp_instance VI_1 {{\n state BACKUP\n interface {iface}\n virtual_router_id 51\n\
             priority {prio}\n advert_int {adv}\n version {ver}\n {auth}\n {unicast}\n\
             virtual_ipaddress {{\n {VIP}/32\n }}\n notify \"{notify}\"\n {extra}\n}}\n",
            prio = c.priority,
            adv = c.advert_int,
            ver = c.version,
            notify = notify.display(),
            extra = c.extra,
        );
        let conf_path = dir.join(format!("{name}.conf"));
        fs::write(&conf_path, conf).unwrap();
        let pid = dir.join(format!("{name}.pid"));
        let vrrp_pid = dir.join(format!("{name}.vrrp.pid"));
        let log = dir.join(format!("{name}.log"));
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "keepalived",
                "-n",
                "-l",
                "-D",
                "-G",
                "-P",
            ])
            .arg("-R")
            .arg("-f")
            .arg(&conf_path)
            .arg("-p")
            .arg(&pid)
            .arg("-r")
            .arg(&vrrp_pid)
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .expect("start keepalived");
        Keepalived {
            child,
            states,
            vrrp_pid,
            log,
        }
    }

    /// The states the notify script logged: (time, state).
    pub fn transitions(&self) -> Vec<(f64, String)> {
        fs::read_to_string(&self.states)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.parse().ok()?, w.next()?.to_string()))
            })
            .collect()
    }

    /// The last state keepalived reported, or "" before the first.
    pub fn state(&self) -> String {
        self.transitions()
            .last()
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }

    /// When keepalived first entered `state` after `after` (epoch seconds).
    pub fn entered(&self, state: &str, after: f64) -> Option<f64> {
        self.transitions()
            .into_iter()
            .find(|(t, s)| s == state && *t >= after)
            .map(|(t, _)| t)
    }

    fn vrrp_child(&self) -> Option<i32> {
        fs::read_to_string(&self.vrrp_pid).ok()?.trim().parse().ok()
    }

    /// SIGKILL to the VRRP process (no priority 0, no cleanup), then the parent.
    pub fn kill_hard(&mut self) {
        if let Some(pid) = self.vrrp_child() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM to keepalived (a master sends priority 0).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = wait_for(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
            + &fs::read_to_string(self.log.with_extension("err")).unwrap_or_default()
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// The rvs driver running in the `rvs` namespace.
pub struct Rvs {
    child: Child,
    pub out: PathBuf,
}

/// What the role process writes: one instance's status plus its events.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RoleStatus {
    pub state: String,
    pub priority: u8,
    pub effective_priority: u8,
    pub master_addr: Option<String>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub adverts_dropped: u64,
    pub drops: std::collections::BTreeMap<String, u64>,
}

impl Rvs {
    /// Starts the role with a TOML configuration (the model's vocabulary).
    pub fn start(topo: &Topo, name: &str, toml_conf: &str) -> Rvs {
        let out = topo.dir.path().join(format!("rvs-{name}"));
        fs::create_dir_all(&out).unwrap();
        let conf = out.join("rvs.toml");
        fs::write(&conf, toml_conf).unwrap();
        let log = fs::File::create(out.join("role.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &topo.rvs_ns])
            .arg(std::env::current_exe().unwrap())
            .args([
                "vrrp_role",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RVS_VRRP_ROLE_CONF", &conf)
            .env("RVS_VRRP_ROLE_OUT", &out)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the rvs role");
        Rvs { child, out }
    }

    pub fn status(&self) -> RoleStatus {
        fs::read_to_string(self.out.join("status.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    pub fn state(&self) -> String {
        self.status().state
    }

    /// (time, event) lines the role logged: `OWN 1`, `OWN 0`, `GARP n`.
    pub fn events(&self) -> Vec<(f64, String)> {
        fs::read_to_string(self.out.join("events.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let (t, e) = l.split_once(' ')?;
                Some((t.parse().ok()?, e.to_string()))
            })
            .collect()
    }

    /// When the role first logged `event` after `after`.
    pub fn event_at(&self, event: &str, after: f64) -> Option<f64> {
        self.events()
            .into_iter()
            .find(|(t, e)| e == event && *t >= after)
            .map(|(t, _)| t)
    }

    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM: the role shuts the driver down (priority 0) and exits.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = wait_for(Duration::from_secs(10), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.out.join("role.log")).unwrap_or_default()
    }
}

impl Drop for Rvs {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// An rvs configuration with one instance on the rvs side of the topology.
pub fn rvs_conf(priority: u8, version: u8, advert_int: &str, extra: &str) -> String {
    let auth = if version == 2 {
        "authentication = { type = \"PASS\", password = \"secret\" }\n"
    } else {
        ""
    };
    format!(
        "[[vrrp_instances]]\nname = \"VI_1\"\ninterface = \"{RVS_IF}\"\nvirtual_router_id = 51\n\
         priority = {priority}\nadvert_int = {advert_int}\nversion = {version}\n{auth}\
         virtual_ipaddress = [{{ address = \"{VIP}/32\" }}]\n{extra}\n"
    )
}

/// The role: runs the driver in this (namespaced) process until SIGTERM, logging events and
/// status to files and applying them to the kernel interface (VIP on the interface,
/// gratuitous ARPs through AF_PACKET).
pub fn role_main() {
    use control::vrrp::garp::{GarpSender, PacketGarp};
    use control::vrrp::resolve::SystemEnv;
    use control::vrrp::{DriverOptions, VrrpDriver, VrrpEvent, resolve};

    let (Ok(conf), Ok(out)) = (
        std::env::var("RVS_VRRP_ROLE_CONF"),
        std::env::var("RVS_VRRP_ROLE_OUT"),
    ) else {
        return;
    };
    let _ = env_logger::builder().format_timestamp_micros().try_init();
    let out = PathBuf::from(out);
    let text = fs::read_to_string(conf).unwrap();
    let config: control::config::model::Config = toml::from_str(&text).unwrap();
    let resolved = resolve(
        &config,
        &SystemEnv {
            map_name: |s: &str| s.to_string(),
        },
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut events_log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("events.log"))
        .unwrap();
    let status_path = out.join("status.json");
    rt.block_on(async move {
        let (driver, mut events) = VrrpDriver::start(
            &tokio::runtime::Handle::current(),
            resolved,
            DriverOptions {
                script_timeout: Duration::from_secs(5),
                link_poll: Duration::from_millis(100),
            },
        )
        .unwrap();
        let garp = PacketGarp::open().unwrap();
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        let mut tick = tokio::time::interval(Duration::from_millis(25));
        let handle = |ev: VrrpEvent, log: &mut fs::File| match ev {
            VrrpEvent::Ownership {
                interface,
                vips,
                owned,
                ..
            } => {
                for v in vips {
                    let op = if owned { "add" } else { "del" };
                    let _ = Command::new("ip")
                        .args(["addr", op, &format!("{v}/32"), "dev", &interface])
                        .status();
                }
                writeln!(log, "{:.6} OWN {}", now_s(), u8::from(owned)).unwrap();
            }
            VrrpEvent::Garp {
                interface,
                vips,
                count,
                ..
            } => {
                let r = garp.send(&interface, &vips, count);
                writeln!(log, "{:.6} GARP {count} {}", now_s(), r.is_ok()).unwrap();
            }
        };
        let write_status = |driver: &VrrpDriver| {
            if let Some(r) = driver.reports().into_iter().next() {
                let s = RoleStatus {
                    state: r.status.state.clone(),
                    priority: r.status.priority,
                    effective_priority: r.effective_priority,
                    master_addr: r.status.master_addr.map(|a| a.to_string()),
                    adverts_sent: r.status.adverts_sent,
                    adverts_received: r.status.adverts_received,
                    adverts_dropped: r.status.adverts_dropped,
                    drops: r.drops.clone(),
                };
                let tmp = status_path.with_extension("tmp");
                fs::write(&tmp, serde_json::to_string(&s).unwrap()).unwrap();
                fs::rename(&tmp, &status_path).unwrap();
            }
        };
        loop {
            tokio::select! {
                Some(ev) = events.recv() => handle(ev, &mut events_log),
                _ = term.recv() => break,
                _ = tick.tick() => write_status(&driver),
            }
        }
        driver.shutdown().await;
        while let Ok(ev) = events.try_recv() {
            handle(ev, &mut events_log);
        }
        writeln!(events_log, "{:.6} STOPPED", now_s()).unwrap();
    });
}

/// Whether a host in the keepalived namespace reaches the VIP (ICMP echo).
pub fn ka_pings_vip(topo: &Topo) -> bool {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &topo.ka_ns,
            "ping",
            "-c",
            "1",
            "-W",
            "1",
            VIP,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Prints a measured figure in a form the docs collect (`FIGURE name: value`).
pub fn figure(name: &str, seconds: f64) {
    println!("FIGURE {name}: {seconds:.3} s");
}

/// Asserts that `cond` holds at every poll for `span`.
pub fn holds_for(span: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < span {
        assert!(cond(), "{what} stopped holding after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A Python program with scapy helpers to forge VRRPv2 adverts from the keepalived side.
pub const SCAPY_PRELUDE: &str = r#"
from scapy.all import Ether, IP, sendp, conf
from scapy.layers.vrrp import VRRP, VRRPv3
conf.verb = 0
IFACE = "vk0"

def v2(prio=254, vrid=51, pw=b"secret", adv=1, ttl=255, chksum=None,
       addrs=("10.200.0.100",), src="10.200.0.3", authtype=1):
    pwb = pw.ljust(8, b"\0")[:8]
    v = VRRP(vrid=vrid, priority=prio, ipcount=len(addrs), addrlist=list(addrs),
             authtype=authtype, adv=adv,
             auth1=int.from_bytes(pwb[:4], "big"), auth2=int.from_bytes(pwb[4:], "big"))
    if chksum is not None:
        v.chksum = chksum
    return Ether(dst="01:00:5e:00:00:12") / IP(src=src, dst="224.0.0.18", ttl=ttl,
                                               tos=0xc0, proto=112) / v

def send(pkts, count=3):
    for _ in range(count):
        sendp(pkts, iface=IFACE)
"#;
