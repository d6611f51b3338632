//! Clients run inside a node: curl, wrk, ping, UDP and TCP exchanges, raw frame injection.
//!
//! Each returns what a test asserts on (status and body, requests and errors, bytes and the
//! addresses involved) and fails with the program's stderr when the program fails. The
//! parsers of tool output never panic on odd text; they return `LabError::Parse`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use serde::Deserialize;

use crate::cmd::{self, CURL, PING, WRK};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::names::NodeId;
use crate::process::ProcessGuard;

/// An HTTP answer seen by curl.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status code.
    pub status: u16,
    /// The body (lossy UTF-8).
    pub body: String,
    /// Where curl connected to.
    pub remote: Option<SocketAddrV4>,
    /// curl's own address and port.
    pub local: Option<SocketAddrV4>,
}

/// curl's `--write-out` trailer, after the body on a line of its own.
const CURL_TRAILER: &str = "\n%{http_code} %{remote_ip}:%{remote_port} %{local_ip}:%{local_port}";

/// Splits curl's output into body and trailer and parses the trailer.
pub fn parse_curl_output(text: &str) -> Result<HttpReply> {
    let bad = || LabError::parse("curl output", text);
    let (body, trailer) = text.rsplit_once('\n').ok_or_else(bad)?;
    let mut words = trailer.split_whitespace();
    let status: u16 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
    let remote = words.next().and_then(|w| w.parse().ok());
    let local = words.next().and_then(|w| w.parse().ok());
    Ok(HttpReply {
        status,
        body: body.to_owned(),
        remote,
        local,
    })
}

/// What wrk measured.
#[derive(Clone, Debug, PartialEq)]
pub struct WrkReport {
    /// Requests completed.
    pub requests: u64,
    /// `Requests/sec:`.
    pub requests_per_sec: f64,
    /// Sum of the socket errors (connect, read, write, timeout).
    pub socket_errors: u64,
    /// `Non-2xx or 3xx responses:`.
    pub non_2xx_3xx: u64,
}

impl WrkReport {
    /// Parses wrk's summary.
    pub fn parse(text: &str) -> Result<WrkReport> {
        let bad = || LabError::parse("wrk output", text);
        let mut requests = None;
        let mut requests_per_sec = None;
        let mut socket_errors = 0;
        let mut non_2xx_3xx = 0;
        for line in text.lines().map(str::trim) {
            if let Some(rate) = line.strip_prefix("Requests/sec:") {
                requests_per_sec = rate.trim().parse::<f64>().ok();
            } else if let Some(errors) = line.strip_prefix("Socket errors:") {
                // "connect 0, read 12, write 0, timeout 0"
                socket_errors = errors
                    .split(',')
                    .filter_map(|part| part.split_whitespace().nth(1))
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum();
            } else if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
                non_2xx_3xx = n.trim().parse().map_err(|_| bad())?;
            } else if line.contains(" requests in ") {
                requests = line.split_whitespace().next().and_then(|n| n.parse().ok());
            }
        }
        Ok(WrkReport {
            requests: requests.ok_or_else(bad)?,
            requests_per_sec: requests_per_sec.ok_or_else(bad)?,
            socket_errors,
            non_2xx_3xx,
        })
    }
}

/// What ping counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingReport {
    /// Echo requests sent.
    pub transmitted: u32,
    /// Echo replies received.
    pub received: u32,
}

impl PingReport {
    /// Parses `N packets transmitted, M received`.
    pub fn parse(text: &str) -> Result<PingReport> {
        let line = text
            .lines()
            .find(|line| line.contains("packets transmitted"))
            .ok_or_else(|| LabError::parse("ping output", text))?;
        let number_before = |word: &str| -> Option<u32> {
            let words: Vec<&str> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .collect();
            let at = words.iter().position(|w| *w == word)?;
            words.get(at.checked_sub(1)?)?.parse().ok()
        };
        Ok(PingReport {
            transmitted: number_before("packets")
                .ok_or_else(|| LabError::parse("ping output", text))?,
            received: number_before("received")
                .ok_or_else(|| LabError::parse("ping output", text))?,
        })
    }
}

/// A datagram received by a UDP client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Who sent it.
    pub from: SocketAddrV4,
    /// The receiving socket's address.
    pub local: SocketAddrV4,
    /// Its payload.
    pub data: Vec<u8>,
}

impl Datagram {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// What a TCP exchange read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpReply {
    /// The client socket's address.
    pub local: SocketAddrV4,
    /// Everything read until the peer closed.
    pub data: Vec<u8>,
}

#[derive(Deserialize)]
struct ClientJson {
    from: Option<String>,
    local: Option<String>,
    data: Option<String>,
}

fn parse_client_json(text: &str) -> Result<(Option<SocketAddrV4>, Option<SocketAddrV4>, Vec<u8>)> {
    let bad = || LabError::parse("helper output", text);
    let line = text
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .ok_or_else(bad)?;
    let json: ClientJson = serde_json::from_str(line).map_err(|_| bad())?;
    let addr = |a: Option<String>| a.and_then(|a| a.parse().ok());
    let data = hex_decode(json.data.as_deref().unwrap_or("")).ok_or_else(bad)?;
    Ok((addr(json.from), addr(json.local), data))
}

/// Hex text to bytes (two digits a byte); `None` on odd length or a non-hex digit.
/// Hand-written: five lines do not justify a dependency.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            let hi = (pair.first()?.to_ascii_lowercase() as char).to_digit(16)?;
            let lo = (pair.get(1)?.to_ascii_lowercase() as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// Bytes to lower-case hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A UDP socket waiting for one datagram in a node (see [`Lab::udp_listen`]).
#[derive(Debug)]
pub struct UdpListener {
    guard: ProcessGuard,
    timeout: Duration,
}

impl UdpListener {
    /// Waits for the datagram (or the listener's timeout).
    pub fn wait(self) -> Result<Datagram> {
        let log = self.guard.log_path().to_path_buf();
        let name = self.guard.name().to_owned();
        let status = self
            .guard
            .wait_exit(self.timeout + Duration::from_secs(5))?;
        let text = std::fs::read_to_string(&log).map_err(|e| LabError::io(&log, e))?;
        if !status.success() {
            return Err(LabError::Command {
                command: name,
                status: status.to_string(),
                stderr: text.trim().to_owned(),
            });
        }
        datagram_from(&text)
    }
}

fn datagram_from(text: &str) -> Result<Datagram> {
    let (from, local, data) = parse_client_json(text)?;
    match (from, local) {
        (Some(from), Some(local)) => Ok(Datagram { from, local, data }),
        _ => Err(LabError::parse("udp helper output", text)),
    }
}

impl Lab {
    /// `curl URL` from `node` (5 s limit): status and body.
    pub fn curl(&self, node: NodeId, url: &str) -> Result<HttpReply> {
        self.curl_with(node, url, &[], Duration::from_secs(5))
    }

    /// `curl EXTRA... URL` from `node` with a time limit (`--max-time`).
    pub fn curl_with(
        &self,
        node: NodeId,
        url: &str,
        extra: &[&str],
        limit: Duration,
    ) -> Result<HttpReply> {
        let curl = cmd::find(CURL)?;
        let max_time = format!("{:.3}", limit.as_secs_f64());
        let mut args = vec![
            "--silent",
            "--show-error",
            "--max-time",
            &max_time,
            "--connect-timeout",
            &max_time,
            "--output",
            "-",
            "--write-out",
            CURL_TRAILER,
        ];
        args.extend_from_slice(extra);
        args.push(url);
        let text = self.run(node, &curl.to_string_lossy(), &args)?;
        parse_curl_output(&text)
    }

    /// `wrk` from `node` for `duration` with `connections` connections on one thread.
    pub fn wrk(
        &self,
        node: NodeId,
        url: &str,
        duration: Duration,
        connections: u32,
    ) -> Result<WrkReport> {
        let wrk = cmd::find(WRK)?;
        let seconds = format!("{}s", duration.as_secs().max(1));
        let connections = connections.max(1).to_string();
        let args = [
            "-t1",
            "-c",
            &connections,
            "-d",
            &seconds,
            "--timeout",
            "2s",
            url,
        ];
        let text = self.run(node, &wrk.to_string_lossy(), &args)?;
        WrkReport::parse(&text)
    }

    /// `ping -c COUNT` from `node` (0.2 s apart, 1 s wait): what came back. No reply at all
    /// is a report with `received == 0`, not an error.
    pub fn ping(&self, node: NodeId, dst: Ipv4Addr, count: u32) -> Result<PingReport> {
        let ping = cmd::find(PING)?;
        let count = count.max(1).to_string();
        let dst = dst.to_string();
        let args = ["-n", "-q", "-c", &count, "-i", "0.2", "-W", "1", &dst];
        let out = self.output(node, &ping.to_string_lossy(), &args)?;
        PingReport::parse(&String::from_utf8_lossy(&out.stdout))
    }

    /// Sends `payload` from `node` to `dst` over UDP and waits up to `timeout` for one reply.
    pub fn udp_exchange(
        &self,
        node: NodeId,
        dst: SocketAddrV4,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Datagram> {
        self.udp_exchange_from_port(node, 0, dst, payload, timeout)
    }

    /// Like [`Lab::udp_exchange`] from source port `src_port` (0 = any).
    pub fn udp_exchange_from_port(
        &self,
        node: NodeId,
        src_port: u16,
        dst: SocketAddrV4,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Datagram> {
        let args = [
            self.script("clients.py").to_string_lossy().into_owned(),
            "udp-exchange".to_owned(),
            dst.ip().to_string(),
            dst.port().to_string(),
            hex_encode(payload),
            timeout.as_secs_f64().to_string(),
            src_port.to_string(),
        ];
        let text = self.run(node, &cmd::python()?.to_string_lossy(), &args)?;
        datagram_from(&text)
    }

    /// Binds UDP `port` in `node` and waits (in the background, up to `timeout`) for one
    /// datagram; returns once the socket is bound.
    pub fn udp_listen(&self, node: NodeId, port: u16, timeout: Duration) -> Result<UdpListener> {
        let ready = self.work_file(&format!("udp-listen-{node}-{port}"), "ready");
        let args = [
            self.script("clients.py").to_string_lossy().into_owned(),
            "udp-listen".to_owned(),
            port.to_string(),
            timeout.as_secs_f64().to_string(),
            ready.to_string_lossy().into_owned(),
        ];
        let python = cmd::python()?;
        let mut guard = self.spawn(
            node,
            &format!("udp-listen-{node}"),
            &python.to_string_lossy(),
            &args,
        )?;
        guard.wait_ready("the UDP listener", Duration::from_secs(10), || {
            ready.exists()
        })?;
        Ok(UdpListener { guard, timeout })
    }

    /// Connects from `node` to `dst`, sends `payload`, reads until the peer closes.
    pub fn tcp_exchange(
        &self,
        node: NodeId,
        dst: SocketAddrV4,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<TcpReply> {
        let args = [
            self.script("clients.py").to_string_lossy().into_owned(),
            "tcp-exchange".to_owned(),
            dst.ip().to_string(),
            dst.port().to_string(),
            hex_encode(payload),
            timeout.as_secs_f64().to_string(),
        ];
        let text = self.run(node, &cmd::python()?.to_string_lossy(), &args)?;
        let (_, local, data) = parse_client_json(&text)?;
        let local = local.ok_or_else(|| LabError::parse("tcp helper output", &text))?;
        Ok(TcpReply { local, data })
    }

    /// Sends each Ethernet frame as is out of `iface` in `node` (a packet socket): for
    /// injecting crafted packets (tunnelled, malformed, bad checksums).
    pub fn send_frames(&self, node: NodeId, iface: &str, frames: &[Vec<u8>]) -> Result<()> {
        let mut args = vec![
            self.script("clients.py").to_string_lossy().into_owned(),
            "send-frames".to_owned(),
            iface.to_owned(),
        ];
        args.extend(frames.iter().map(|frame| hex_encode(frame)));
        self.run(node, &cmd::python()?.to_string_lossy(), &args)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn curl_output_splits_at_the_trailer() {
        let reply =
            parse_curl_output("server=rs1\nclient=10.9.0.2:1\n\n200 10.0.0.100:80 10.9.0.2:41000")
                .expect("parses");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, "server=rs1\nclient=10.9.0.2:1\n");
        assert_eq!(reply.remote, Some("10.0.0.100:80".parse().expect("addr")));
        assert_eq!(reply.local, Some("10.9.0.2:41000".parse().expect("addr")));
        assert!(parse_curl_output("no trailer").is_err());
        assert!(parse_curl_output("x\nabc 1.2.3.4:5").is_err());
    }

    const WRK_TEXT: &str = "Running 1s test @ http://10.0.0.100/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.21ms    3.64ms  22.00ms   86.13%
    Req/Sec     1.70k   353.66     2.14k    70.00%
  1698 requests in 1.00s, 631.78KB read
  Socket errors: connect 0, read 12, write 1, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:   1694.39
Transfer/sec:    630.43KB
";

    #[test]
    fn wrk_summary_parses() {
        let report = WrkReport::parse(WRK_TEXT).expect("parses");
        assert_eq!(report.requests, 1698);
        assert!((report.requests_per_sec - 1694.39).abs() < 1e-9);
        assert_eq!(report.socket_errors, 15);
        assert_eq!(report.non_2xx_3xx, 5);
        assert!(WrkReport::parse("unable to connect to 10.0.0.100:80 Connection refused").is_err());
    }

    #[test]
    fn ping_summary_parses() {
        let text = "--- 10.0.0.11 ping statistics ---\n3 packets transmitted, 2 received, 33.3333% packet loss, time 405ms\n";
        assert_eq!(
            PingReport::parse(text).expect("parses"),
            PingReport {
                transmitted: 3,
                received: 2
            }
        );
        let errors = "2 packets transmitted, 0 received, +2 errors, 100% packet loss";
        assert_eq!(PingReport::parse(errors).expect("parses").received, 0);
        assert!(PingReport::parse("ping: connect: Network is unreachable").is_err());
    }

    #[test]
    fn helper_json_parses() {
        let text =
            "{\"from\": \"10.0.0.100:9000\", \"local\": \"0.0.0.0:5555\", \"data\": \"6869\"}\n";
        let datagram = datagram_from(text).expect("parses");
        assert_eq!(datagram.from, "10.0.0.100:9000".parse().expect("addr"));
        assert_eq!(datagram.text(), "hi");
        assert!(
            datagram_from("{\"from\": \"x\", \"local\": \"0.0.0.0:1\", \"data\": \"\"}").is_err()
        );
        assert!(
            datagram_from("{\"from\": \"1.2.3.4:5\", \"local\": \"0.0.0.0:1\", \"data\": \"abc\"}")
                .is_err()
        );
        assert!(datagram_from("timeout").is_err());
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex_encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(hex_decode("0g"), None);
        assert_eq!(hex_decode("abc"), None);
    }

    proptest! {
        #[test]
        fn hex_decode_inverts_encode(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(hex_decode(&hex_encode(&bytes)), Some(bytes));
        }

        #[test]
        fn tool_parsers_never_panic(text in "(\\PC|\n){0,200}") {
            let _ = parse_curl_output(&text);
            let _ = WrkReport::parse(&text);
            let _ = PingReport::parse(&text);
            let _ = parse_client_json(&text);
            let _ = hex_decode(&text);
        }
    }
}
