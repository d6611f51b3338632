//! nginx behind a PROXY-protocol listener, logging what it learnt from the header.
//!
//! Used to prove that a director's PROXY protocol header (FULLNAT) carries the real client:
//! the access log holds `$proxy_protocol_addr $proxy_protocol_port $remote_addr
//! $remote_port $server_addr $server_port` per request. Everything nginx writes (config,
//! pid, logs, temp dirs) is inside the lab's work directory: no global nginx state.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{self, NGINX};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::NodeId;
use crate::process::ProcessGuard;

/// How long nginx gets to write its pid file (after its listeners are bound).
const NGINX_START: Duration = Duration::from_secs(10);

/// A running nginx; dropping it stops nginx.
#[derive(Debug)]
pub struct Nginx {
    guard: ProcessGuard,
    access_log: PathBuf,
    /// The port it listens on (with `proxy_protocol`).
    pub port: u16,
}

/// One access-log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyLogLine {
    /// `$proxy_protocol_addr` (`None` when the header carried no address, as in `LOCAL`).
    pub proxy_addr: Option<Ipv4Addr>,
    /// `$proxy_protocol_port`.
    pub proxy_port: Option<u16>,
    /// `$remote_addr`: the TCP peer (the director's local address in FULLNAT).
    pub remote_addr: Ipv4Addr,
    /// `$remote_port`.
    pub remote_port: u16,
    /// `$server_addr`: where the connection arrived.
    pub server_addr: Ipv4Addr,
    /// `$server_port`.
    pub server_port: u16,
}

impl ProxyLogLine {
    /// Parses one line written with the lab's log format.
    pub fn parse(line: &str) -> Result<ProxyLogLine> {
        let bad = || LabError::parse("nginx access log line", line);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [
            proxy_addr,
            proxy_port,
            remote_addr,
            remote_port,
            server_addr,
            server_port,
        ] = fields.as_slice()
        else {
            return Err(bad());
        };
        let optional_addr = |text: &str| match text {
            "-" | "" => Ok(None),
            other => other.parse().map(Some).map_err(|_| bad()),
        };
        let optional_port = |text: &str| match text {
            "-" | "" => Ok(None),
            other => other.parse().map(Some).map_err(|_| bad()),
        };
        Ok(ProxyLogLine {
            proxy_addr: optional_addr(proxy_addr)?,
            proxy_port: optional_port(proxy_port)?,
            remote_addr: remote_addr.parse().map_err(|_| bad())?,
            remote_port: remote_port.parse().map_err(|_| bad())?,
            server_addr: server_addr.parse().map_err(|_| bad())?,
            server_port: server_port.parse().map_err(|_| bad())?,
        })
    }
}

impl Nginx {
    /// The requests logged so far.
    pub fn access_log(&self) -> Result<Vec<ProxyLogLine>> {
        let text = std::fs::read_to_string(&self.access_log)
            .map_err(|e| LabError::io(&self.access_log, e))?;
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(ProxyLogLine::parse)
            .collect()
    }

    /// The access log's path.
    pub fn access_log_path(&self) -> &Path {
        &self.access_log
    }

    /// nginx's own output and error log so far.
    pub fn log(&self) -> String {
        self.guard.log()
    }
}

impl Lab {
    /// Starts nginx in `node` listening on `port` with `proxy_protocol`; every request is
    /// answered `200 server=<node>` and logged (see [`ProxyLogLine`]).
    pub fn nginx_proxy_protocol(&self, node: NodeId, port: u16) -> Result<Nginx> {
        let nginx = cmd::find(NGINX)?;
        let dir = self.work_file(&format!("nginx-{node}-{port}"), "d");
        let temp = dir.join("tmp");
        std::fs::create_dir_all(&temp).map_err(|e| LabError::io(&temp, e))?;
        let access_log = dir.join("access.log");
        let pid = dir.join("nginx.pid");
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, node, port)).map_err(|e| LabError::io(&conf, e))?;
        let args = [
            "-p".to_owned(),
            format!("{}/", dir.display()),
            "-c".to_owned(),
            conf.to_string_lossy().into_owned(),
            "-e".to_owned(),
            dir.join("error.log").to_string_lossy().into_owned(),
        ];
        let mut guard = self.spawn(
            node,
            &format!("nginx-{node}"),
            &nginx.to_string_lossy(),
            &args,
        )?;
        guard.wait_ready(&format!("nginx on port {port}"), NGINX_START, || {
            pid.exists()
        })?;
        Ok(Nginx {
            guard,
            access_log,
            port,
        })
    }
}

fn config(dir: &Path, node: NodeId, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format proxied '$proxy_protocol_addr $proxy_protocol_port $remote_addr $remote_port $server_addr $server_port';
    access_log {d}/access.log proxied;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen {port} proxy_protocol;
        location / {{
            default_type text/plain;
            return 200 "server={node}\nproxy_protocol_addr=$proxy_protocol_addr\nremote_addr=$remote_addr\n";
        }}
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log_lines_parse() {
        let line =
            ProxyLogLine::parse("192.0.2.7 4242 10.9.0.2 51000 10.0.0.11 8080").expect("parses");
        assert_eq!(line.proxy_addr, Some(Ipv4Addr::new(192, 0, 2, 7)));
        assert_eq!(line.proxy_port, Some(4242));
        assert_eq!(line.remote_addr, Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(line.server_port, 8080);
        let local = ProxyLogLine::parse("- - 10.9.0.2 51000 10.0.0.11 8080").expect("parses");
        assert_eq!(local.proxy_addr, None);
        assert!(ProxyLogLine::parse("1.2.3.4 1 2").is_err());
        assert!(ProxyLogLine::parse("x 1 10.9.0.2 1 10.0.0.11 80").is_err());
    }

    proptest! {
        #[test]
        fn log_parser_never_panics(text in "[0-9. -]{0,60}") {
            let _ = ProxyLogLine::parse(&text);
        }
    }
}
