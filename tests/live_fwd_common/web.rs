//! The real servers' web server: nginx answering every request with the lab's echo body
//! (`server=`, `client=`, `local=` lines, which `lab::EchoReply` reads).
//!
//! Why nginx and not the lab's Python HTTP server: that one writes headers and body in two
//! sends, so Nagle's algorithm and the client's delayed ACK hold each keep-alive response
//! for 40 ms — wrk measured about 80 requests/s through any director. nginx answers in one
//! segment, so wrk measures the path through rvs rather than a timer. Everything nginx
//! writes stays in the lab's work directory.

use std::path::Path;
use std::time::Duration;

use lab::{Lab, NodeId, ProcessGuard};

/// Starts nginx in `node` on 0.0.0.0:`port`, answering
/// `server=<node>\nclient=$remote_addr:$remote_port\nlocal=$server_addr:$server_port\n`.
pub fn nginx_echo(lab: &Lab, node: NodeId, port: u16) -> lab::Result<ProcessGuard> {
    let dir = lab.workdir().join(format!("nginx-echo-{node}-{port}"));
    let conf = dir.join("nginx.conf");
    std::fs::create_dir_all(dir.join("tmp"))
        .and_then(|()| std::fs::write(&conf, config(&dir, node, port)))
        .unwrap_or_else(|e| panic!("writing {}: {e}", conf.display()));
    let pid = dir.join("nginx.pid");
    let args = [
        "-p".to_owned(),
        format!("{}/", dir.display()),
        "-c".to_owned(),
        conf.display().to_string(),
        "-e".to_owned(),
        dir.join("error.log").display().to_string(),
    ];
    let nginx = lab::cmd::find(lab::cmd::NGINX)?;
    let mut guard = lab.spawn(
        node,
        &format!("nginx-echo-{node}"),
        &nginx.to_string_lossy(),
        &args,
    )?;
    guard.wait_ready(
        &format!("nginx on port {port}"),
        Duration::from_secs(10),
        || pid.exists(),
    )?;
    Ok(guard)
}

fn config(dir: &Path, node: NodeId, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen {port} reuseport;
        location / {{
            default_type text/plain;
            return 200 "server={node}\nclient=$remote_addr:$remote_port\nlocal=$server_addr:$server_port\n";
        }}
    }}
}}
"#
    )
}
