//! Golden scenarios of the real ipvsadm 1.31 (on the ipvs-shim oracle), and how to build a
//! scenario's table on a live rvsd with rvsadm.
//!
//! Two sets: `tests/golden/daemon/` (cli's oracle scenarios re-run on tables rvsadm can
//! build, by scripts/gen-daemon-goldens.py) and cli's hand-written `src-*` scenarios.
use std::path::{Path, PathBuf};

use super::ROOT;

/// rvsadm's goldens.
pub fn cli_golden_dir() -> PathBuf {
    Path::new(ROOT).join("cli/tests/golden")
}

/// The live-daemon goldens.
pub fn daemon_golden_dir() -> PathBuf {
    Path::new(ROOT).join("tests/golden/daemon")
}

/// One scenario: the table before, the command, what ipvsadm printed.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The shim state (T/S/D/L lines).
    pub state: String,
    pub args: Vec<String>,
    pub stdout: String,
    pub stderr: String,
    pub exit: i32,
    pub stdin: Option<String>,
    pub user: Option<String>,
    /// A listing run after a change, and its output.
    pub after: Option<(Vec<String>, String)>,
    pub has_conns: bool,
}

fn lines_of(text: &str) -> Vec<String> {
    text.strip_suffix('\n')
        .map(|t| t.split('\n').map(str::to_string).collect())
        .unwrap_or_default()
}

/// Every scenario of `dir` whose name starts with `prefix`, sorted by name.
pub fn scenarios(dir: &Path, prefix: &str) -> Vec<Scenario> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("golden dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".args")
                .filter(|n| n.starts_with(prefix))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let file = |ext: &str| dir.join(format!("{name}.{ext}"));
            let read = |ext: &str| std::fs::read_to_string(file(ext)).ok();
            Scenario {
                state: read("state").unwrap_or_default(),
                args: lines_of(&read("args").expect("args")),
                stdout: read("stdout").expect("stdout"),
                stderr: read("stderr").expect("stderr"),
                exit: read("exit")
                    .expect("exit")
                    .trim()
                    .parse()
                    .expect("exit code"),
                stdin: read("stdin"),
                user: read("user").map(|u| u.trim().to_string()),
                after: match (read("after-args"), read("after")) {
                    (Some(a), Some(o)) => Some((lines_of(&a), o)),
                    _ => None,
                },
                has_conns: file("conn").exists(),
                name,
            }
        })
        .collect()
}

/// `--set` values: tcp, tcpfin, udp.
pub type Timeouts = (u32, u32, u32);

/// `state` as rvsadm can build it (what scripts/gen-daemon-goldens.py does to the oracle's
/// tables): counters and connection counts zeroed (only traffic makes them).
pub fn live_state(state: &str) -> String {
    let mut out = String::new();
    for line in state.lines() {
        let mut f: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        match f.first().map(String::as_str) {
            Some("S") if f.len() >= 19 => {
                for v in &mut f[9..19] {
                    *v = "0".into();
                }
            }
            Some("D") if f.len() >= 20 => {
                for v in &mut f[7..20] {
                    *v = "0".into();
                }
            }
            _ => {}
        }
        out.push_str(&f.join(" "));
        out.push('\n');
    }
    out
}

/// The rvsadm command lines (for `-R`) that build a state, and its timeouts; `Err` with the
/// reason when rvsadm cannot build it (the oracle's table carries counters, connections or
/// fwmark services, which only traffic or a kernel make).
pub fn restore_lines(state: &str) -> Result<(String, Option<Timeouts>), String> {
    let mut timeouts = None;
    // Per service: its -A line, its local addresses, its destinations.
    let mut services: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    let mut key = String::new();
    for line in state.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (numbers, extra): (Vec<&str>, Vec<&str>) =
            f.iter().skip(1).partition(|w| !w.contains('='));
        let kv = |k: &str| {
            extra
                .iter()
                .find_map(|w| w.strip_prefix(&format!("{k}=")).map(str::to_string))
        };
        let num = |i: usize| -> Result<u64, String> {
            numbers
                .get(i)
                .ok_or_else(|| format!("short line {line:?}"))?
                .parse::<i64>()
                .map(|v| v as u64)
                .map_err(|e| format!("{line:?}: {e}"))
        };
        match f.first().copied() {
            Some("T") => timeouts = Some((num(0)? as u32, num(1)? as u32, num(2)? as u32)),
            Some("S") => {
                if numbers[8..].iter().any(|n| *n != "0") {
                    return Err("the table carries counters".into());
                }
                if num(3)? != 0 {
                    return Err("fwmark services".into());
                }
                let opt = if numbers[0] == "6" { "-t" } else { "-u" };
                let addr = numbers[1];
                key = if addr.contains(':') {
                    format!("{opt} [{addr}]:{}", numbers[2])
                } else {
                    format!("{opt} {addr}:{}", numbers[2])
                };
                let sched = numbers[4];
                let flags = num(5)?;
                let mut a = format!("-A {key} -s {sched}");
                if flags & 1 != 0 {
                    a.push_str(&format!(" -p {}", num(6)?));
                    let mask = numbers[7];
                    if mask != "255.255.255.255" && mask != "128" {
                        a.push_str(&format!(" -M {mask}"));
                    }
                }
                if flags & 4 != 0 {
                    a.push_str(" -o");
                }
                let bits = flags & (8 | 16 | 32);
                if bits != 0 {
                    let names = cli::sched_flags::names(sched, bits as u32);
                    a.push_str(&format!(" -b {}", names.join(",")));
                }
                if let Some(c) = kv("client") {
                    a.push_str(&format!(" --client-addr {c}"));
                }
                services.push((a, Vec::new(), Vec::new()));
            }
            Some("D") => {
                if numbers[6..].iter().any(|n| *n != "0") {
                    return Err("the table carries connections or counters".into());
                }
                let method = match num(2)? & 7 {
                    0 => "-m",
                    2 => "-i",
                    3 => "-g",
                    5 => "--fullnat",
                    other => return Err(format!("forwarding method {other}")),
                };
                let addr = numbers[0];
                let dest = if addr.contains(':') {
                    format!("[{addr}]:{}", numbers[1])
                } else {
                    format!("{addr}:{}", numbers[1])
                };
                let mut a = format!("-a {key} -r {dest} {method} -w {}", num(3)?);
                if num(4)? != 0 {
                    a.push_str(&format!(" -x {}", num(4)?));
                }
                if num(5)? != 0 {
                    a.push_str(&format!(" -y {}", num(5)?));
                }
                if let Some(t) = kv("tun") {
                    let parts: Vec<&str> = t.split(':').collect();
                    let csum = |c: &str| match c {
                        "csum" => " --tun-csum",
                        "remcsum" => " --tun-remcsum",
                        _ => "",
                    };
                    match parts.as_slice() {
                        ["ipip"] => a.push_str(" --tun-type ipip"),
                        ["gue", port, c] => {
                            a.push_str(&format!(" --tun-type gue --tun-port {port}{}", csum(c)))
                        }
                        ["gre", c] => a.push_str(&format!(" --tun-type gre{}", csum(c))),
                        _ => return Err(format!("tunnel {t}")),
                    }
                }
                services.last_mut().ok_or("D before S")?.2.push(a);
            }
            Some("L") => {
                let a = format!("-P {key} -z {}", numbers[0]);
                services.last_mut().ok_or("L before S")?.1.push(a);
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for (a, ls, ds) in services {
        out.push_str(&a);
        out.push('\n');
        for l in ls.iter().chain(&ds) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok((out, timeouts))
}
