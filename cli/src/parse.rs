//! From a command line to a checked [`Command`], following ipvsadm 1.31's
//! `parse_options` and `process_options` step for step: the first option must be a command;
//! each later option is handled as it is found (so of two mistakes, the one ipvsadm reports
//! is reported); leftovers, scheduler flags, the legality table and the per-command checks
//! come after, in ipvsadm's order, with ipvsadm's sentences and exit statuses.
//!
//! What rvs cannot do (SCTP services, persistence engines, sync daemons) passes every
//! check ipvsadm makes and is then refused the way a kernel refusal ends (status 255).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proto::{
    AddressSpec, ClientAddr, DestSpec, Forward, NeighSpec, Protocol, RouteSpec, ServiceKey,
    ServiceSpec, Timeouts, Tunnel, TunnelCsum, TunnelType,
};

use crate::addr::{
    Endpoint, atoi, parse_endpoint, parse_mac, parse_prefix, read_v4_netmask, string_to_number,
    strtol_whole,
};
use crate::command::Command;
use crate::exit::Exit;
use crate::listing::Format;
use crate::names::Names;
use crate::options::{Cmd, OPTIONS, Opt, OptSet, Tag, check_command_options};
use crate::popt::{Found, Scanner};
use crate::sched_flags;

/// `MAX_TIMEOUT`: 31 days.
const MAX_TIMEOUT: i64 = 86400 * 31;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: what `-p` without a value means (6 minutes).
const DEFAULT_PERSISTENCE: u32 = 360;
/// `DEF_SCHED`.
const DEFAULT_SCHEDULER: &str = "wlc";
/// `IP_VS_SCHEDNAME_MAXLEN - 1`.
const SCHED_NAME_MAX: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

fn family_of(addr: IpAddr) -> Family {
    if addr.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    }
}

/// The persistence netmask as the options left it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Netmask {
    /// A prefix length: the default (/32), IPv6's `-M`, or set by an IPv6 address or `-6`.
    Prefix(u8),
    /// An IPv4 `-M`, kept as typed until every ipvsadm check has passed.
    V4 { text: String, mask: Ipv4Addr },
}

/// The service protocol selected by `-t`, `-u`, `--sctp-service` (or `-f`, which sets TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServiceProtocol {
    Known(Protocol),
    Sctp,
}

/// ipvsadm's `ipvs_command_entry`, as the options fill it in.
struct Entry {
    options: OptSet,
    format: Format,
    protocol: Option<ServiceProtocol>,
    family: Option<Family>,
    svc_addr: Option<IpAddr>,
    svc_port: u16,
    fwmark: u32,
    scheduler: String,
    persistent: Option<u32>,
    netmask: Netmask,
    one_packet: bool,
    pe: Option<String>,
    sched_flags_arg: String,
    client_addr: ClientAddr,
    dest_addr: Option<IpAddr>,
    dest_port: u16,
    forward: Forward,
    tunnel: Tunnel,
    weight: u32,
    upper: u32,
    lower: u32,
    laddr: Option<IpAddr>,
}

impl Entry {
    fn new() -> Entry {
        Entry {
            options: OptSet::default(),
            format: Format::default(),
            protocol: None,
            family: None,
            svc_addr: None,
            svc_port: 0,
            fwmark: 0,
            scheduler: String::new(),
            persistent: None,
            netmask: Netmask::Prefix(32),
            one_packet: false,
            pe: None,
            sched_flags_arg: String::new(),
            client_addr: ClientAddr::default(),
            dest_addr: None,
            dest_port: 0,
            forward: Forward::Dr,
            tunnel: Tunnel::default(),
            weight: 1,
            upper: 0,
            lower: 0,
            laddr: None,
        }
    }

    /// ipvsadm's `set_option`: an option given twice is an error.
    fn set(&mut self, opt: Opt) -> Result<(), Exit> {
        if self.options.insert(opt) {
            Ok(())
        } else {
            Err(Exit::usage(format!(
                "multiple '{}' options specified",
                opt.name()
            )))
        }
    }

    fn names_protocol(&self) -> Option<Protocol> {
        match self.protocol {
            Some(ServiceProtocol::Known(p)) => Some(p),
            _ => None,
        }
    }
}

/// A number in `min..=max` or ipvsadm's message.
fn number(arg: &str, min: i64, max: i64, message: &str) -> Result<i64, Exit> {
    string_to_number(arg, min, max).ok_or_else(|| Exit::usage(message))
}

/// ipvsadm's `parse_timeout`.
fn timeout(arg: &str, min: i64) -> Result<u32, Exit> {
    string_to_number(arg, min, MAX_TIMEOUT)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| Exit::usage(format!("invalid timeout value `{arg}' specified")))
}

/// ipvsadm's `parse_fwmark`.
fn fwmark(arg: &str) -> Result<u32, Exit> {
    strtol_whole(arg)
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| Exit::usage(format!("invalid fwmark value `{arg}' specified")))
}

/// The option's argument; popt guarantees one for options that take one.
fn arg_of(found: &Found<Tag>) -> &str {
    found.arg.as_deref().unwrap_or("")
}

fn service_option(
    e: &mut Entry,
    protocol: ServiceProtocol,
    arg: &str,
    names: &dyn Names,
) -> Result<(), Exit> {
    e.set(Opt::Service)?;
    e.protocol = Some(protocol);
    let Endpoint { addr, port } = parse_endpoint(arg, e.names_protocol(), names)
        .ok_or_else(|| Exit::usage("illegal virtual server address[:port] specified"))?;
    e.svc_addr = Some(addr);
    e.family = Some(family_of(addr));
    if addr.is_ipv6() {
        e.netmask = Netmask::Prefix(128);
    }
    if let Some(p) = port {
        e.svc_port = p;
    }
    Ok(())
}

fn forward_option(e: &mut Entry, forward: Forward) -> Result<(), Exit> {
    e.set(Opt::Forward)?;
    e.forward = forward;
    Ok(())
}

fn mcast_group(arg: &str) -> Result<(), Exit> {
    if arg.contains(':') {
        match arg.parse::<Ipv6Addr>() {
            Ok(a) if a.is_multicast() => Ok(()),
            _ => Err(Exit::usage(format!("invalid IPv6 mcast-group `{arg}'"))),
        }
    } else {
        match arg.parse::<Ipv4Addr>() {
            Ok(a) if a.is_multicast() => Ok(()),
            _ => Err(Exit::usage(format!("invalid IPv4 mcast-group `{arg}'"))),
        }
    }
}

/// Handles one option after the command, as the `switch` in ipvsadm's `parse_options`.
fn handle_option(
    e: &mut Entry,
    found: &Found<Tag>,
    bad_word: &str,
    names: &dyn Names,
) -> Result<(), Exit> {
    let arg = arg_of(found);
    match found.tag {
        Tag::TcpService => service_option(e, ServiceProtocol::Known(Protocol::Tcp), arg, names)?,
        Tag::UdpService => service_option(e, ServiceProtocol::Known(Protocol::Udp), arg, names)?,
        Tag::SctpService => service_option(e, ServiceProtocol::Sctp, arg, names)?,
        Tag::FwmarkService => {
            e.set(Opt::Service)?;
            e.family = Some(Family::V4);
            e.protocol = Some(ServiceProtocol::Known(Protocol::Tcp));
            e.fwmark = fwmark(arg)?;
        }
        Tag::Scheduler => {
            e.set(Opt::Scheduler)?;
            let mut s = arg.to_string();
            crate::listing::truncate(&mut s, SCHED_NAME_MAX);
            e.scheduler = s;
        }
        Tag::Persistent => {
            e.set(Opt::Persistent)?;
            e.persistent = Some(match &found.arg {
                None => DEFAULT_PERSISTENCE,
                Some(a) => timeout(a, 1)?,
            });
        }
        Tag::Netmask => {
            e.set(Opt::Netmask)?;
            if e.family == Some(Family::V6) {
                let n = atoi(arg);
                if !(1..=128).contains(&n) {
                    return Err(Exit::usage("illegal ipv6 netmask specified"));
                }
                e.netmask = Netmask::Prefix(u8::try_from(n).unwrap_or(128));
            } else {
                let mask = read_v4_netmask(arg, names).ok_or_else(|| {
                    Exit::usage("illegal virtual server persistent mask specified")
                })?;
                e.netmask = Netmask::V4 {
                    text: arg.to_string(),
                    mask,
                };
            }
        }
        Tag::RealServer => {
            e.set(Opt::Server)?;
            let Endpoint { addr, port } = parse_endpoint(arg, e.names_protocol(), names)
                .ok_or_else(|| Exit::usage("illegal real server address[:port] specified"))?;
            e.dest_addr = Some(addr);
            e.dest_port = port.unwrap_or(e.svc_port);
        }
        Tag::Ipip => forward_option(e, Forward::Tun)?,
        Tag::Gatewaying => forward_option(e, Forward::Dr)?,
        Tag::Masquerading => forward_option(e, Forward::Nat)?,
        Tag::FullNat => forward_option(e, Forward::FullNat)?,
        Tag::Weight => {
            e.set(Opt::Weight)?;
            e.weight = u32::try_from(number(
                arg,
                0,
                i64::from(i32::MAX),
                "illegal weight specified",
            )?)
            .unwrap_or(0);
        }
        Tag::UThreshold => {
            e.set(Opt::UThreshold)?;
            e.upper = u32::try_from(number(
                arg,
                0,
                i64::from(i32::MAX),
                "illegal u_threshold specified",
            )?)
            .unwrap_or(0);
        }
        Tag::LThreshold => {
            e.set(Opt::LThreshold)?;
            e.lower = u32::try_from(number(
                arg,
                0,
                i64::from(i32::MAX),
                "illegal l_threshold specified",
            )?)
            .unwrap_or(0);
        }
        Tag::Connection => e.set(Opt::Connection)?,
        Tag::Numeric => {
            e.set(Opt::Numeric)?;
            e.format.numeric = true;
        }
        Tag::McastInterface => e.set(Opt::Mcast)?,
        Tag::SyncId => {
            e.set(Opt::SyncId)?;
            number(arg, 0, 255, "illegal syncid specified")?;
        }
        Tag::Timeout => e.set(Opt::Timeout)?,
        Tag::Daemon => e.set(Opt::Daemon)?,
        Tag::Stats => {
            e.set(Opt::Stats)?;
            e.format.stats = true;
        }
        Tag::Rate => {
            e.set(Opt::Rate)?;
            e.format.rate = true;
        }
        Tag::Thresholds => {
            e.set(Opt::Thresholds)?;
            e.format.thresholds = true;
        }
        Tag::PersistentConn => {
            e.set(Opt::PersistentConn)?;
            e.format.persistent_conn = true;
        }
        Tag::NoSort => {
            e.set(Opt::NoSort)?;
            e.format.nosort = true;
        }
        Tag::Sort => {}
        Tag::Exact => {
            e.set(Opt::Exact)?;
            e.format.exact = true;
        }
        Tag::Ipv6 => {
            if e.fwmark == 0 {
                return Err(Exit::usage("-6 used before -f\n"));
            }
            e.family = Some(Family::V6);
            e.netmask = Netmask::Prefix(128);
        }
        Tag::Ops => {
            e.set(Opt::OnePacket)?;
            e.one_packet = true;
        }
        Tag::Pe => {
            e.set(Opt::PersistenceEngine)?;
            e.pe = Some(arg.to_string());
        }
        Tag::SchedFlags => {
            e.set(Opt::SchedFlags)?;
            let mut s = arg.to_string();
            crate::listing::truncate(&mut s, 127);
            e.sched_flags_arg = s;
        }
        Tag::McastGroup => {
            e.set(Opt::McastGroup)?;
            mcast_group(arg)?;
        }
        Tag::McastPort => {
            e.set(Opt::McastPort)?;
            number(arg, 1, 65535, "illegal mcast-port specified")?;
        }
        Tag::McastTtl => {
            e.set(Opt::McastTtl)?;
            number(arg, 1, 255, "illegal mcast-ttl specified")?;
        }
        Tag::SyncMaxlen => {
            e.set(Opt::SyncMaxlen)?;
            number(arg, 1, 65535 - 20 - 8, "illegal sync-maxlen specified")?;
        }
        Tag::TunInfo => {
            e.set(Opt::TunInfo)?;
            e.format.tun_info = true;
        }
        Tag::TunType => {
            e.set(Opt::TunType)?;
            e.tunnel.kind = match arg {
                "ipip" => TunnelType::Ipip,
                "gue" => TunnelType::Gue,
                "gre" => TunnelType::Gre,
                _ => return Err(Exit::usage("illegal tunnel type specified")),
            };
        }
        Tag::TunPort => {
            e.set(Opt::TunPort)?;
            e.tunnel.port =
                u16::try_from(number(arg, 1, 65535, "illegal tunnel port specified")?).unwrap_or(0);
        }
        Tag::TunNoCsum => {
            e.set(Opt::TunNoCsum)?;
            e.tunnel.csum = TunnelCsum::NoCsum;
        }
        Tag::TunCsum => {
            e.set(Opt::TunCsum)?;
            e.tunnel.csum = TunnelCsum::Csum;
        }
        Tag::TunRemCsum => {
            e.set(Opt::TunRemCsum)?;
            e.tunnel.csum = TunnelCsum::RemCsum;
        }
        Tag::Laddr => {
            e.set(Opt::LocalAddress)?;
            let ep = parse_endpoint(arg, None, names)
                .ok_or_else(|| Exit::usage("illegal local address"))?;
            e.laddr = Some(ep.addr);
        }
        Tag::ClientAddr => {
            e.set(Opt::ClientAddr)?;
            e.client_addr = match arg {
                "toa" => ClientAddr::Toa,
                "proxy-v2" => ClientAddr::ProxyV2,
                "none" => ClientAddr::None,
                _ => {
                    return Err(Exit::usage(format!(
                        "illegal client-addr mode `{arg}' specified"
                    )));
                }
            };
        }
        // A second command, -h or -v after the command.
        _ => return Err(Exit::usage(format!("invalid option `{bad_word}'"))),
    }
    Ok(())
}

/// ipvsadm's `tunnel_opt_check`: which tunnel options each tunnel type takes.
fn check_tunnel_options(kind: TunnelType, options: OptSet) -> Result<(), String> {
    let (name, rules): (&str, [u8; 4]) = match kind {
        TunnelType::Ipip => ("ipip", *b"xxxx"),
        TunnelType::Gue => ("gue", *b"+111"),
        TunnelType::Gre => ("gre", *b"x11x"),
    };
    let columns = [Opt::TunPort, Opt::TunNoCsum, Opt::TunCsum, Opt::TunRemCsum];
    let mut exclusive: Option<Opt> = None;
    for (opt, rule) in columns.into_iter().zip(rules) {
        if !options.contains(opt) {
            if rule == b'+' {
                return Err(format!(
                    "You need to supply the '{}' option for the '{name}' tunnel type",
                    opt.name()
                ));
            }
            continue;
        }
        if rule == b'x' {
            return Err(format!(
                "Illegal '{}' option with the '{name}' tunnel type",
                opt.name()
            ));
        }
        if rule == b'1' {
            match exclusive {
                None => exclusive = Some(opt),
                Some(first) => {
                    return Err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{name}' tunnel type",
                        opt.name(),
                        first.name()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Values that follow a command as plain words (`--set 900 120 300`, `--add-addr dpdk0
/// 10.0.0.1/24`).
struct Values<'s, 't> {
    scanner: &'s mut Scanner<'t, Tag>,
}

impl Values<'_, '_> {
    fn required(&mut self, message: &str) -> Result<String, Exit> {
        self.scanner
            .take_leftover()
            .ok_or_else(|| Exit::usage(message))
    }
    fn optional(&mut self) -> Option<String> {
        self.scanner.take_leftover()
    }
}

fn prefix_value(text: &str, what: &str) -> Result<(IpAddr, u8), Exit> {
    parse_prefix(text).ok_or_else(|| Exit::usage(format!("illegal {what} `{text}' specified")))
}

fn ip_value(text: &str, what: &str) -> Result<IpAddr, Exit> {
    text.parse()
        .map_err(|_| Exit::usage(format!("illegal {what} `{text}' specified")))
}

fn mac_value(text: &str) -> Result<[u8; 6], Exit> {
    parse_mac(text).ok_or_else(|| Exit::usage(format!("illegal MAC address `{text}' specified")))
}

/// The director commands' values, read where ipvsadm reads `--set`'s.
fn director_command(cmd: Cmd, v: &mut Values) -> Result<Option<Command>, Exit> {
    let need = |n: &str| format!("--{} option requires {n}", cmd.name());
    Ok(Some(match cmd {
        Cmd::AddAddr | Cmd::DelAddr => {
            let msg = need("2 values: port address/prefix");
            let port = v.required(&msg)?;
            let (addr, prefix_len) = prefix_value(&v.required(&msg)?, "address/prefix")?;
            let address = AddressSpec {
                port,
                addr,
                prefix_len,
            };
            if cmd == Cmd::AddAddr {
                Command::AddAddress(address)
            } else {
                Command::DelAddress(address)
            }
        }
        Cmd::AddRoute | Cmd::DelRoute => {
            let msg = need("2 or 3 values: prefix/length port [gateway]");
            let (prefix, prefix_len) = prefix_value(&v.required(&msg)?, "route prefix")?;
            let port = v.required(&msg)?;
            let via = v.optional().map(|g| ip_value(&g, "gateway")).transpose()?;
            let route = RouteSpec {
                prefix,
                prefix_len,
                via,
                port,
            };
            if cmd == Cmd::AddRoute {
                Command::AddRoute(route)
            } else {
                Command::DelRoute(route)
            }
        }
        Cmd::AddNeigh => {
            let msg = need("3 values: port address mac");
            let port = v.required(&msg)?;
            let addr = ip_value(&v.required(&msg)?, "neighbour address")?;
            let mac = mac_value(&v.required(&msg)?)?;
            Command::AddNeigh(NeighSpec { port, addr, mac })
        }
        Cmd::DelNeigh => {
            let msg = need("2 or 3 values: port address [mac]");
            let port = v.required(&msg)?;
            let addr = ip_value(&v.required(&msg)?, "neighbour address")?;
            let mac = v
                .optional()
                .map(|m| mac_value(&m))
                .transpose()?
                .unwrap_or([0; 6]);
            Command::DelNeigh(NeighSpec { port, addr, mac })
        }
        _ => return Ok(None),
    }))
}

/// The service key the options name, if any.
fn service_key(e: &Entry) -> Result<Option<ServiceKey>, Exit> {
    if !e.options.contains(Opt::Service) {
        return Ok(None);
    }
    if e.fwmark != 0 {
        return Ok(Some(ServiceKey::Fwmark { mark: e.fwmark }));
    }
    match (e.protocol, e.svc_addr) {
        (Some(ServiceProtocol::Known(protocol)), Some(ip)) => Ok(Some(ServiceKey::Addr {
            protocol,
            addr: SocketAddr::new(ip, e.svc_port),
        })),
        _ => Err(Exit::refused(
            "SCTP virtual services are not supported by rvs",
        )),
    }
}

/// A service key the legality table has made compulsory.
fn required_key(e: &Entry) -> Result<ServiceKey, Exit> {
    service_key(e)?.ok_or_else(|| Exit::usage("You need to supply the 'service-address' option"))
}

/// ipvsadm's `process_options` for one command line (`args` without the program name).
/// `reading_stdin` is set for the lines `-R` reads.
pub fn parse(
    program: &str,
    args: &[String],
    reading_stdin: bool,
    names: &dyn Names,
) -> Result<Command, Exit> {
    let mut scanner = Scanner::new(OPTIONS, args.to_vec());
    let first = match scanner.next_option() {
        Some(Ok(found)) => found,
        _ => return Err(Exit::try_help(program)),
    };
    match first.tag {
        Tag::Help => return Ok(Command::Help),
        Tag::Version => return Ok(Command::Version),
        Tag::StartDaemon if !matches!(arg_of(&first), "master" | "backup") => {
            return Err(Exit::usage("illegal start-daemon parameter specified"));
        }
        Tag::StopDaemon if !matches!(arg_of(&first), "master" | "backup") => {
            return Err(Exit::usage("illegal start_daemon specified"));
        }
        _ => {}
    }
    let Some(cmd) = Cmd::from_tag(first.tag) else {
        return Err(Exit::try_help(program));
    };
    let mut e = Entry::new();

    while let Some(next) = scanner.next_option() {
        match next {
            Ok(found) => {
                let bad_word = scanner.bad_word().to_string();
                handle_option(&mut e, &found, &bad_word, names)?;
            }
            Err(err) => {
                return Err(Exit::refused(format!(
                    "{}: {}",
                    scanner.bad_word(),
                    err.text()
                )));
            }
        }
    }

    let mut timeouts = None;
    if cmd == Cmd::Timeout {
        let msg = "--set option requires 3 timeout values";
        let mut v = Values {
            scanner: &mut scanner,
        };
        let (tcp, fin, udp) = (v.required(msg), v.required(msg), v.required(msg));
        let (tcp, fin, udp) = (tcp?, fin?, udp?);
        timeouts = Some(Timeouts {
            tcp: timeout(&tcp, 0)?,
            tcp_fin: timeout(&fin, 0)?,
            udp: timeout(&udp, 0)?,
        });
    }
    let director = director_command(
        cmd,
        &mut Values {
            scanner: &mut scanner,
        },
    )?;
    if let Some(extra) = scanner.take_leftover() {
        return Err(Exit::usage(format!("unexpected argument {extra}")));
    }
    let mut sched_bits = 0;
    if !e.sched_flags_arg.is_empty() {
        let sched = if e.scheduler.is_empty() {
            DEFAULT_SCHEDULER
        } else {
            &e.scheduler
        };
        sched_bits = sched_flags::parse(sched, &e.sched_flags_arg).map_err(Exit::usage)?;
    }

    check_command_options(cmd, e.options).map_err(Exit::usage)?;

    if matches!(cmd, Cmd::Add | Cmd::Edit) {
        if e.fwmark == 0 && e.svc_port == 0 && e.persistent.is_none() {
            return Err(Exit::usage(
                "Zero port specified for non-persistent service",
            ));
        }
        if e.one_packet
            && e.fwmark == 0
            && e.protocol != Some(ServiceProtocol::Known(Protocol::Udp))
        {
            return Err(Exit::usage(
                "One-Packet Scheduling is only for UDP virtual services",
            ));
        }
        if e.scheduler.is_empty() {
            e.scheduler = DEFAULT_SCHEDULER.to_string();
        }
    }
    if matches!(cmd, Cmd::AddDest | Cmd::EditDest) {
        if e.fwmark == 0 && matches!(e.forward, Forward::Tun | Forward::Dr) {
            e.dest_port = e.svc_port;
        }
        if e.dest_addr.map(family_of) != e.family && e.forward != Forward::Tun {
            return Err(Exit::usage(
                "Different address family is allowed only for tunneling servers",
            ));
        }
        let tunnel_opts = [
            Opt::TunType,
            Opt::TunPort,
            Opt::TunNoCsum,
            Opt::TunCsum,
            Opt::TunRemCsum,
        ];
        if tunnel_opts.iter().any(|o| e.options.contains(*o)) && e.forward != Forward::Tun {
            return Err(Exit::usage("Tunnel options conflict with forward method"));
        }
        check_tunnel_options(e.tunnel.kind, e.options).map_err(Exit::usage)?;
    }
    if cmd == Cmd::List {
        let o = e.options;
        let any = |set: &[Opt]| set.iter().any(|x| o.contains(*x));
        if (any(&[Opt::Connection, Opt::Timeout, Opt::Daemon])
            && any(&[Opt::Stats, Opt::Rate, Opt::Thresholds]))
            || (any(&[Opt::Timeout, Opt::Daemon]) && o.contains(Opt::PersistentConn))
        {
            return Err(Exit::usage("options conflicts in the list command"));
        }
    }
    if cmd == Cmd::Restore && reading_stdin {
        return Err(Exit::try_help(program));
    }
    if let Some(pe) = &e.pe {
        return Err(Exit::refused(format!(
            "persistence engine `{pe}' is not supported by rvs"
        )));
    }
    if matches!(cmd, Cmd::StartDaemon | Cmd::StopDaemon) {
        return Err(Exit::refused(
            "connection synchronisation daemons are not supported by rvs",
        ));
    }
    if let Some(c) = director {
        return Ok(c);
    }
    build(cmd, &e, sched_bits, timeouts)
}

/// The prefix length of the persistence netmask; an IPv4 mask that is not a prefix cannot
/// be represented and is refused here, after every check ipvsadm makes.
fn netmask_prefix(n: &Netmask) -> Result<u8, Exit> {
    match n {
        Netmask::Prefix(p) => Ok(*p),
        Netmask::V4 { text, mask } => crate::addr::v4_netmask_prefix(text, *mask)
            .ok_or_else(|| Exit::usage("illegal virtual server persistent mask specified")),
    }
}

fn dest_spec(e: &Entry) -> Result<DestSpec, Exit> {
    let ip = e
        .dest_addr
        .ok_or_else(|| Exit::usage("You need to supply the 'real-server' option"))?;
    Ok(DestSpec {
        addr: SocketAddr::new(ip, e.dest_port),
        forward: e.forward,
        tunnel: e.tunnel,
        weight: e.weight,
        upper: e.upper,
        lower: e.lower,
    })
}

fn build(
    cmd: Cmd,
    e: &Entry,
    sched_bits: u32,
    timeouts: Option<Timeouts>,
) -> Result<Command, Exit> {
    let spec = || -> Result<ServiceSpec, Exit> {
        Ok(ServiceSpec {
            key: required_key(e)?,
            scheduler: e.scheduler.clone(),
            sched_flags: sched_flags::names(&e.scheduler, sched_bits),
            persistent: e.persistent,
            netmask: netmask_prefix(&e.netmask)?,
            one_packet: e.one_packet,
            client_addr: e.client_addr,
        })
    };
    let laddr = || {
        e.laddr
            .ok_or_else(|| Exit::usage("You need to supply the 'local-address' option"))
    };
    Ok(match cmd {
        Cmd::Add => Command::AddService(spec()?),
        Cmd::Edit => Command::EditService(spec()?),
        Cmd::Del => Command::DelService(required_key(e)?),
        Cmd::Flush => Command::Clear,
        Cmd::List => {
            let o = e.options;
            if o.contains(Opt::Connection) {
                Command::ListConns(e.format)
            } else if let Some(key) = service_key(e)? {
                Command::ListService(key, e.format)
            } else if o.contains(Opt::Timeout) {
                Command::ListTimeouts
            } else if o.contains(Opt::Daemon) {
                Command::ListDaemons
            } else {
                Command::ListAll(e.format)
            }
        }
        Cmd::AddDest => Command::AddDest(required_key(e)?, dest_spec(e)?),
        Cmd::EditDest => Command::EditDest(required_key(e)?, dest_spec(e)?),
        Cmd::DelDest => Command::DelDest(required_key(e)?, dest_spec(e)?.addr),
        Cmd::Timeout => Command::SetTimeouts(timeouts.unwrap_or(Timeouts {
            tcp: 0,
            tcp_fin: 0,
            udp: 0,
        })),
        Cmd::Restore => Command::Restore,
        Cmd::Save => Command::Save {
            numeric: e.format.numeric,
        },
        Cmd::Zero => Command::Zero(service_key(e)?),
        Cmd::AddLaddr => Command::AddLocalAddr(required_key(e)?, laddr()?),
        Cmd::DelLaddr => Command::DelLocalAddr(required_key(e)?, laddr()?),
        Cmd::GetLaddr => Command::GetLocalAddrs {
            key: service_key(e)?,
            numeric: e.format.numeric,
        },
        Cmd::ListAddrs => Command::ListAddresses,
        Cmd::ListRoutes => Command::ListRoutes,
        Cmd::ListNeighs => Command::ListNeighs,
        Cmd::ListCheckers => Command::ListCheckers {
            numeric: e.format.numeric,
        },
        Cmd::ListVrrp => Command::ListVrrp,
        Cmd::ListCounters => Command::ListCounters,
        // Refused or handled before: daemons, and the director's changes.
        Cmd::StartDaemon
        | Cmd::StopDaemon
        | Cmd::AddAddr
        | Cmd::DelAddr
        | Cmd::AddRoute
        | Cmd::DelRoute
        | Cmd::AddNeigh
        | Cmd::DelNeigh => return Err(Exit::try_help("rvsadm")),
    })
}
