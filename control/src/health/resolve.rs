//! From the configuration model to [`ServiceTarget`]s, applying keepalived's defaults.
//!
//! The defaults below were read from keepalived's own sources (check_api.c, check_data.c and
//! each check_*.c) rather than from memory, because they differ per checker:
//!
//! | checker      | retry | delay_before_retry |
//! |--------------|-------|--------------------|
//! | TCP_CHECK    | 1     | 1 s                |
//! | HTTP_GET     | 1     | 3 s                |
//! | SSL_GET      | 1     | 3 s                |
//! | UDP_CHECK    | 1     | 1 s                |
//! | SMTP_CHECK   | 1     | 1 s                |
//! | DNS_CHECK    | 3     | delay_loop         |
//! | MISC_CHECK   | 0     | 1 s                |
//!
//! `delay_loop` comes from the checker, else the real server, else the virtual server
//! (default 60 s); `warmup` from the checker, else the virtual server, else `delay_loop`;
//! `alpha` from the checker, else the virtual server. `connect_ip`/`connect_port` default to
//! the real server's address and port, and a real server without a port uses the service's.
//! MISC_CHECK's `misc_timeout` defaults to the *virtual server's* delay_loop (keepalived reads
//! `vs->delay_loop` there, not the checker's). The HTTP Host header is the url's
//! virtualhost, else the checker's, else the service's, else `IP:PORT` of the connection.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use proto::ServiceKey;

use crate::config::model::{Check, CheckCommon, HttpUrl, RealServer, VirtualService};

use super::probe::dns_wire;
use super::spec::{
    CheckerSpec, ConnSpec, ProbeSpec, ServerTarget, ServicePolicy, ServiceTarget, SorrySpec,
    Timing, UrlSpec,
};

/// The HELO name keepalived's SMTP_CHECK uses when none is configured.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// Why a checker of the configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// `VIP:PORT` of the service.
    pub service: String,
    /// `IP:PORT` of the real server.
    pub server: String,
    /// Index of the checker within the real server (0-based).
    pub checker: usize,
    pub message: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service {}, real server {}, checker {}: {}",
            self.service,
            self.server,
            self.checker + 1,
            self.message
        )
    }
}

impl std::error::Error for ResolveError {}

/// The service key rvs uses for a configured virtual service.
pub fn service_key(vs: &VirtualService) -> ServiceKey {
    ServiceKey::Addr {
        protocol: vs.protocol,
        addr: SocketAddr::new(vs.address, vs.port),
    }
}

/// The address of a real server, with the service's port when it has none.
pub fn server_addr(vs: &VirtualService, rs: &RealServer) -> SocketAddr {
    SocketAddr::new(rs.address, rs.port_in(vs.port))
}

/// Resolves every service; all errors are reported, and nothing is returned if any.
pub fn resolve_services(
    services: &[VirtualService],
) -> Result<Vec<ServiceTarget>, Vec<ResolveError>> {
    let mut out = Vec::with_capacity(services.len());
    let mut errors = Vec::new();
    for vs in services {
        match resolve_service(vs) {
            Ok(t) => out.push(t),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Resolves one service.
pub fn resolve_service(vs: &VirtualService) -> Result<ServiceTarget, Vec<ResolveError>> {
    let mut errors = Vec::new();
    let mut servers = Vec::with_capacity(vs.real_servers.len());
    let vs_delay = secs(vs.check.delay_loop);
    for rs in &vs.real_servers {
        let dest = server_addr(vs, rs);
        let mut checkers = Vec::with_capacity(rs.checks.len());
        for (i, check) in rs.checks.iter().enumerate() {
            match resolve_check(vs, rs, dest, check) {
                Ok(c) => checkers.push(c),
                Err(message) => errors.push(ResolveError {
                    service: SocketAddr::new(vs.address, vs.port).to_string(),
                    server: dest.to_string(),
                    checker: i,
                    message,
                }),
            }
        }
        servers.push(ServerTarget {
            dest,
            weight: rs.weight,
            inhibit: rs.inhibit_on_failure.unwrap_or(vs.check.inhibit_on_failure),
            notify_up: rs.notify_up.clone(),
            notify_down: rs.notify_down.clone(),
            checkers,
        });
    }
    if vs_delay.is_err() {
        errors.push(ResolveError {
            service: SocketAddr::new(vs.address, vs.port).to_string(),
            server: "-".into(),
            checker: 0,
            message: format!("invalid delay_loop {}", vs.check.delay_loop),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let sorry = vs.sorry_server.as_ref().map(|s| SorrySpec {
        dest: SocketAddr::new(s.address, if s.port == 0 { vs.port } else { s.port }),
        inhibit: s.inhibit,
    });
    Ok(ServiceTarget {
        key: service_key(vs),
        policy: ServicePolicy {
            quorum: vs.check.quorum,
            hysteresis: vs.check.hysteresis,
            quorum_up: vs.check.quorum_up.clone(),
            quorum_down: vs.check.quorum_down.clone(),
            omega: vs.check.omega,
            sorry,
        },
        servers,
    })
}

/// Converts keepalived seconds (fractions allowed) to a duration, refusing negative,
/// non-finite and absurd values instead of panicking.
fn secs(v: f64) -> Result<Duration, String> {
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return Err(format!("invalid duration {v} s"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn common_of(check: &Check) -> &CheckCommon {
    match check {
        Check::Tcp { common }
        | Check::Http { common, .. }
        | Check::Udp { common, .. }
        | Check::Dns { common, .. }
        | Check::Smtp { common, .. }
        | Check::Misc { common, .. } => common,
    }
}

fn resolve_check(
    vs: &VirtualService,
    rs: &RealServer,
    dest: SocketAddr,
    check: &Check,
) -> Result<CheckerSpec, String> {
    let common = common_of(check);
    let vs_delay = secs(vs.check.delay_loop)?;
    let delay_loop = match common.delay_loop.or(rs.delay_loop) {
        Some(d) => secs(d)?,
        None => vs_delay,
    };
    if delay_loop.is_zero() {
        return Err("delay_loop must be positive".into());
    }
    let (default_retry, default_dbr) = match check {
        Check::Tcp { .. } | Check::Udp { .. } | Check::Smtp { .. } => (1, Duration::from_secs(1)),
        Check::Http { .. } => (1, Duration::from_secs(3)),
        Check::Dns { .. } => (3, delay_loop),
        Check::Misc { .. } => (0, Duration::from_secs(1)),
    };
    let timing = Timing {
        delay_loop,
        retry: common.retry.unwrap_or(default_retry),
        delay_before_retry: match common.delay_before_retry {
            Some(d) => secs(d)?,
            None => default_dbr,
        },
        warmup: match common.warmup.or(vs.check.warmup) {
            Some(w) => secs(w)?,
            None => delay_loop,
        },
        alpha: common.alpha.unwrap_or(vs.check.alpha),
    };
    let probe = match check {
        Check::Tcp { .. } => ProbeSpec::Tcp {
            conn: conn(common, dest)?,
        },
        Check::Http {
            tls,
            urls,
            virtualhost,
            sni,
            ..
        } => {
            let conn = conn(common, dest)?;
            if urls.is_empty() {
                return Err("HTTP_GET/SSL_GET has no url".into());
            }
            let checker_vhost = virtualhost.as_ref().or(vs.check.virtualhost.as_ref());
            let urls = urls
                .iter()
                .map(|u| resolve_url(u, checker_vhost, conn.dst))
                .collect::<Result<Vec<_>, _>>()?;
            let sni = if *sni { checker_vhost.cloned() } else { None };
            ProbeSpec::Http {
                conn,
                tls: *tls,
                sni,
                urls,
            }
        }
        Check::Udp {
            payload,
            require_reply,
            ..
        } => ProbeSpec::Udp {
            conn: conn(common, dest)?,
            payload: match payload {
                Some(h) => parse_hex(h).map_err(|e| format!("payload: {e}"))?,
                None => default_udp_payload(),
            },
            require_reply: match require_reply {
                Some(h) => Some(parse_hex(h).map_err(|e| format!("require_reply: {e}"))?),
                None => None,
            },
        },
        Check::Dns { qtype, name, .. } => ProbeSpec::Dns {
            conn: conn(common, dest)?,
            qtype: dns_wire::qtype_from_name(qtype)
                .ok_or_else(|| format!("unknown DNS type {qtype:?}"))?,
            name: {
                dns_wire::check_name(name)?;
                name.clone()
            },
        },
        Check::Smtp { helo_name, .. } => ProbeSpec::Smtp {
            conn: conn(common, dest)?,
            helo: helo_name
                .clone()
                .unwrap_or_else(|| DEFAULT_HELO.to_string()),
        },
        Check::Misc {
            path,
            timeout,
            dynamic,
            ..
        } => {
            if path.trim().is_empty() {
                return Err("MISC_CHECK has no misc_path".into());
            }
            ProbeSpec::Misc {
                command: path.clone(),
                timeout: match timeout {
                    Some(t) if *t > 0.0 => secs(*t)?,
                    _ => vs_delay,
                },
                dynamic: *dynamic,
            }
        }
    };
    Ok(CheckerSpec { probe, timing })
}

fn conn(common: &CheckCommon, dest: SocketAddr) -> Result<ConnSpec, String> {
    let dst = SocketAddr::new(
        common.connect_ip.unwrap_or(dest.ip()),
        common.connect_port.unwrap_or(dest.port()),
    );
    if dst.port() == 0 {
        return Err("no port to connect to (set connect_port or the real server's port)".into());
    }
    let bind = common
        .bindto
        .map(|ip| SocketAddr::new(ip, common.bind_port.unwrap_or(0)));
    if let Some(b) = bind
        && b.is_ipv4() != dst.is_ipv4()
    {
        return Err(format!(
            "bindto {} and connect address {} differ in family",
            b.ip(),
            dst.ip()
        ));
    }
    let timeout = secs(common.connect_timeout)?;
    if timeout.is_zero() {
        return Err("connect_timeout must be positive".into());
    }
    Ok(ConnSpec { dst, bind, timeout })
}

fn resolve_url(
    u: &HttpUrl,
    checker_vhost: Option<&String>,
    dst: SocketAddr,
) -> Result<UrlSpec, String> {
    if u.path.is_empty() {
        return Err("url has no path".into());
    }
    if u.path.contains(['\r', '\n', ' ']) {
        return Err(format!("url path {:?} contains whitespace", u.path));
    }
    let mut status = Vec::with_capacity(u.status_codes.len());
    for r in &u.status_codes {
        if r.from < 100 || r.to > 599 || r.from > r.to {
            return Err(format!("invalid status_code range {}-{}", r.from, r.to));
        }
        status.push((r.from, r.to));
    }
    if status.is_empty() {
        status.push((200, 299));
    }
    let digest = match &u.digest {
        Some(d) => Some(parse_digest(d)?),
        None => None,
    };
    let host = match u.virtualhost.as_ref().or(checker_vhost) {
        Some(v) => v.clone(),
        None => match dst.ip() {
            IpAddr::V4(ip) => format!("{ip}:{}", dst.port()),
            IpAddr::V6(ip) => format!("[{ip}]:{}", dst.port()),
        },
    };
    if host.contains(['\r', '\n']) {
        return Err("virtualhost contains a line break".into());
    }
    Ok(UrlSpec {
        path: u.path.clone(),
        status,
        digest,
        host,
    })
}

/// Parses a 32-digit hex MD5 digest (either case).
pub fn parse_digest(s: &str) -> Result<[u8; 16], String> {
    let bytes = parse_hex(s).map_err(|e| format!("digest: {e}"))?;
    <[u8; 16]>::try_from(bytes.as_slice())
        .map_err(|_| format!("digest {s:?} must be 32 hex digits"))
}

/// Parses hex digits, ignoring whitespace between them.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {s:?}"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = hex_val(pair.first().copied());
            let lo = hex_val(pair.get(1).copied());
            match (hi, lo) {
                (Some(h), Some(l)) => Ok(h << 4 | l),
                _ => Err(format!("invalid hex digit in {s:?}")),
            }
        })
        .collect()
}

fn hex_val(b: Option<u8>) -> Option<u8> {
    let b = b?;
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// keepalived's UDP_CHECK payload when none is configured: 32 bytes of
/// "keepalived check - " repeated (layer4.c `set_buf`).
pub fn default_udp_payload() -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{ServiceCheckDefaults, StatusRange};
    use proto::{Forward, Protocol};

    fn vs_with(checks: Vec<Check>) -> VirtualService {
        let toml = r#"
            protocol = "tcp"
            address = "10.0.0.1"
            port = 80
            [[real_servers]]
            address = "10.0.1.1"
        "#;
        let mut vs: VirtualService = toml::from_str(toml).unwrap();
        vs.real_servers[0].checks = checks;
        vs
    }

    fn only(vs: &VirtualService) -> CheckerSpec {
        resolve_service(vs).unwrap().servers[0].checkers[0].clone()
    }

    #[test]
    fn tcp_defaults_follow_keepalived() {
        let vs = vs_with(vec![Check::Tcp {
            common: CheckCommon::default(),
        }]);
        let c = only(&vs);
        assert_eq!(c.timing.retry, 1);
        assert_eq!(c.timing.delay_before_retry, Duration::from_secs(1));
        assert_eq!(c.timing.delay_loop, Duration::from_secs(60));
        assert_eq!(c.timing.warmup, Duration::from_secs(60));
        assert!(!c.timing.alpha);
        assert_eq!(
            c.probe,
            ProbeSpec::Tcp {
                conn: ConnSpec {
                    dst: "10.0.1.1:80".parse().unwrap(),
                    bind: None,
                    timeout: Duration::from_secs(5)
                }
            }
        );
        assert_eq!(
            resolve_service(&vs).unwrap().servers[0].dest,
            "10.0.1.1:80".parse().unwrap()
        );
    }

    #[test]
    fn per_kind_retry_defaults() {
        let http = Check::Http {
            common: CheckCommon::default(),
            tls: false,
            urls: vec![HttpUrl {
                path: "/".into(),
                status_codes: vec![StatusRange { from: 200, to: 299 }],
                digest: None,
                virtualhost: None,
            }],
            virtualhost: None,
            sni: false,
        };
        let c = only(&vs_with(vec![http]));
        assert_eq!(
            (c.timing.retry, c.timing.delay_before_retry),
            (1, Duration::from_secs(3))
        );
        let dns = Check::Dns {
            common: CheckCommon {
                delay_loop: Some(7.0),
                ..CheckCommon::default()
            },
            qtype: "A".into(),
            name: "example.org".into(),
        };
        let c = only(&vs_with(vec![dns]));
        assert_eq!(
            (c.timing.retry, c.timing.delay_before_retry),
            (3, Duration::from_secs(7))
        );
        let misc = Check::Misc {
            common: CheckCommon::default(),
            path: "true".into(),
            timeout: None,
            dynamic: false,
            user: None,
        };
        let mut vs = vs_with(vec![misc]);
        vs.check.delay_loop = 9.0;
        let c = only(&vs);
        assert_eq!(c.timing.retry, 0);
        assert_eq!(
            c.probe,
            ProbeSpec::Misc {
                command: "true".into(),
                timeout: Duration::from_secs(9),
                dynamic: false
            }
        );
    }

    #[test]
    fn delay_loop_precedence_checker_then_server_then_service() {
        let mut vs = vs_with(vec![Check::Tcp {
            common: CheckCommon::default(),
        }]);
        vs.check = ServiceCheckDefaults {
            delay_loop: 30.0,
            warmup: Some(2.0),
            alpha: true,
            ..Default::default()
        };
        assert_eq!(only(&vs).timing.delay_loop, Duration::from_secs(30));
        assert_eq!(only(&vs).timing.warmup, Duration::from_secs(2));
        assert!(only(&vs).timing.alpha);
        vs.real_servers[0].delay_loop = Some(20.0);
        assert_eq!(only(&vs).timing.delay_loop, Duration::from_secs(20));
        vs.real_servers[0].checks[0] = Check::Tcp {
            common: CheckCommon {
                delay_loop: Some(10.0),
                alpha: Some(false),
                ..CheckCommon::default()
            },
        };
        assert_eq!(only(&vs).timing.delay_loop, Duration::from_secs(10));
        assert!(!only(&vs).timing.alpha);
    }

    #[test]
    fn connect_ip_port_and_bind() {
        let vs = vs_with(vec![Check::Tcp {
            common: CheckCommon {
                connect_ip: Some("10.0.2.2".parse().unwrap()),
                connect_port: Some(8080),
                bindto: Some("10.0.0.2".parse().unwrap()),
                bind_port: Some(4000),
                connect_timeout: 2.5,
                ..CheckCommon::default()
            },
        }]);
        let ProbeSpec::Tcp { conn } = only(&vs).probe else {
            panic!()
        };
        assert_eq!(conn.dst, "10.0.2.2:8080".parse().unwrap());
        assert_eq!(conn.bind, Some("10.0.0.2:4000".parse().unwrap()));
        assert_eq!(conn.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn http_host_header_and_virtualhost_precedence() {
        let url = |vh: Option<&str>| HttpUrl {
            path: "/health".into(),
            status_codes: vec![],
            digest: Some("9E107D9D372BB6826BD81D3542A419D6".into()),
            virtualhost: vh.map(str::to_string),
        };
        let mut vs = vs_with(vec![Check::Http {
            common: CheckCommon {
                connect_port: Some(8080),
                ..CheckCommon::default()
            },
            tls: true,
            urls: vec![url(None), url(Some("per-url.example"))],
            virtualhost: None,
            sni: true,
        }]);
        let ProbeSpec::Http { urls, sni, .. } = only(&vs).probe else {
            panic!()
        };
        assert_eq!(urls[0].host, "10.0.1.1:8080");
        assert_eq!(urls[1].host, "per-url.example");
        assert_eq!(urls[0].status, vec![(200, 299)]);
        assert_eq!(urls[0].digest.unwrap()[0], 0x9e);
        assert_eq!(sni, None);
        vs.check.virtualhost = Some("svc.example".into());
        let ProbeSpec::Http { urls, sni, .. } = only(&vs).probe else {
            panic!()
        };
        assert_eq!(urls[0].host, "svc.example");
        assert_eq!(sni.as_deref(), Some("svc.example"));
    }

    #[test]
    fn ipv6_host_is_bracketed() {
        let mut vs = vs_with(vec![Check::Http {
            common: CheckCommon::default(),
            tls: false,
            urls: vec![HttpUrl {
                path: "/".into(),
                status_codes: vec![],
                digest: None,
                virtualhost: None,
            }],
            virtualhost: None,
            sni: false,
        }]);
        vs.real_servers[0].address = "2001:db8::5".parse().unwrap();
        let ProbeSpec::Http { urls, .. } = only(&vs).probe else {
            panic!()
        };
        assert_eq!(urls[0].host, "[2001:db8::5]:80");
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let bad = [
            Check::Http {
                common: CheckCommon::default(),
                tls: false,
                urls: vec![],
                virtualhost: None,
                sni: false,
            },
            Check::Http {
                common: CheckCommon::default(),
                tls: false,
                urls: vec![HttpUrl {
                    path: "/".into(),
                    status_codes: vec![],
                    digest: Some("xyz".into()),
                    virtualhost: None,
                }],
                virtualhost: None,
                sni: false,
            },
            Check::Udp {
                common: CheckCommon::default(),
                payload: Some("abc".into()),
                require_reply: None,
            },
            Check::Dns {
                common: CheckCommon::default(),
                qtype: "BOGUS".into(),
                name: ".".into(),
            },
            Check::Dns {
                common: CheckCommon::default(),
                qtype: "A".into(),
                name: "a..b".into(),
            },
            Check::Tcp {
                common: CheckCommon {
                    connect_timeout: f64::NAN,
                    ..CheckCommon::default()
                },
            },
            Check::Tcp {
                common: CheckCommon {
                    delay_loop: Some(-1.0),
                    ..CheckCommon::default()
                },
            },
            Check::Tcp {
                common: CheckCommon {
                    bindto: Some("::1".parse().unwrap()),
                    ..CheckCommon::default()
                },
            },
            Check::Misc {
                common: CheckCommon::default(),
                path: " ".into(),
                timeout: None,
                dynamic: false,
                user: None,
            },
        ];
        for check in bad {
            let errs = resolve_service(&vs_with(vec![check.clone()])).unwrap_err();
            assert_eq!(errs.len(), 1, "{check:?}");
            assert_eq!(errs[0].server, "10.0.1.1:80");
        }
    }

    #[test]
    fn udp_payload_default_and_hex() {
        assert_eq!(&default_udp_payload(), b"keepalived check - keepalived ch");
        let vs = vs_with(vec![Check::Udp {
            common: CheckCommon::default(),
            payload: Some("de ad BE ef".into()),
            require_reply: Some(String::new()),
        }]);
        let ProbeSpec::Udp {
            payload,
            require_reply,
            ..
        } = only(&vs).probe
        else {
            panic!()
        };
        assert_eq!(payload, vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(require_reply, Some(vec![]));
    }

    #[test]
    fn service_policy_and_sorry_port() {
        let mut vs = vs_with(vec![]);
        vs.forward = Forward::Dr;
        vs.protocol = Protocol::Udp;
        vs.sorry_server = Some(crate::config::model::SorryServer {
            address: "10.9.9.9".parse().unwrap(),
            port: 0,
            forward: None,
            inhibit: true,
            tunnel: Default::default(),
            tunnel_port: 0,
        });
        vs.real_servers[0].inhibit_on_failure = Some(true);
        let t = resolve_service(&vs).unwrap();
        assert_eq!(t.policy.sorry.unwrap().dest, "10.9.9.9:80".parse().unwrap());
        assert!(t.servers[0].inhibit);
        assert_eq!(
            t.key,
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: "10.0.0.1:80".parse().unwrap()
            }
        );
    }
}
