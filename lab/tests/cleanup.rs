//! A lab leaves nothing behind: not when dropped, not when a test panics, and `gc` removes
//! what killed runs left while sparing labs in use. Also the `rvs-lab` binary end to end.
//! Needs root; skips otherwise.

mod support;

use std::collections::HashMap;
use std::process::Command;

use lab::names::IFNAME_MAX;
use lab::{Lab, LabSpec, Mode, NodeId, RunId, TunnelRx, cmd, state, teardown};
use support::lab_or_skip;

/// Namespaces and root links of run `id` that exist now.
fn leftovers(id: &RunId) -> Vec<String> {
    let prefix = id.netns_prefix();
    let link_prefix = id.iface("");
    let mut found: Vec<String> = cmd::list_netns()
        .expect("ip netns list")
        .into_iter()
        .filter(|name| name.starts_with(&prefix))
        .collect();
    found.extend(
        cmd::list_root_links()
            .expect("ip link")
            .into_iter()
            .filter(|name| name.starts_with(&link_prefix)),
    );
    found
}

fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn a_dropped_lab_leaves_nothing_behind() {
    let spec = LabSpec::new(Mode::Tun)
        .servers(2)
        .directors(2)
        .with_peer()
        .tunnel_rx(TunnelRx::Userspace);
    let Some(lab) = lab_or_skip(spec) else {
        return;
    };
    let id = lab.id().clone();
    let workdir = lab.workdir().to_path_buf();
    assert_eq!(
        leftovers(&id).len(),
        8,
        "client router lan 2 directors 2 servers peer"
    );
    for node in lab.nodes() {
        for iface in node.ifaces() {
            assert!(iface.name.len() <= IFNAME_MAX, "{}", iface.name);
            let links = lab
                .run(node.id, "ip", &["-o", "link", "show"])
                .expect("ip link");
            assert!(
                links.contains(&iface.name),
                "{} missing in {}",
                iface.name,
                node.id
            );
        }
    }
    // A server the test forgets to stop, and the lab's own decapsulators.
    let web = lab.http_server(NodeId::Server(2), 80).expect("http");
    let web_pid = web.detach();
    let decap_pids: Vec<u32> = ["rs1", "rs2"]
        .iter()
        .map(|node| {
            let netns = id.netns(node.parse().expect("node"));
            let pids = lab::cmd::ip(&["netns", "pids", &netns]).expect("pids");
            pids.split_whitespace()
                .next()
                .expect("a decapsulator")
                .parse()
                .expect("pid")
        })
        .collect();
    assert!(running(web_pid) && decap_pids.iter().all(|&p| running(p)));

    drop(lab);
    assert_eq!(leftovers(&id), Vec::<String>::new());
    assert!(!running(web_pid), "the forgotten server survived");
    assert!(
        decap_pids.iter().all(|&p| !running(p)),
        "a decapsulator survived"
    );
    assert!(
        !workdir.exists(),
        "work directory left: {}",
        workdir.display()
    );
}

#[test]
fn a_panicking_test_leaves_nothing_behind() {
    let id = RunId::generate();
    let spec = LabSpec::new(Mode::Dr).id(id.clone());
    let outcome = std::panic::catch_unwind(move || {
        let Some(lab) = lab_or_skip(spec) else {
            return false;
        };
        let _web = lab.http_server(NodeId::Server(1), 80).expect("http");
        assert!(!leftovers(lab.id()).is_empty());
        panic!("a test fails while its lab is up");
    });
    match outcome {
        Ok(false) => {} // skipped: not root
        Ok(true) => unreachable!("the closure panics or skips"),
        Err(_) => assert_eq!(leftovers(&id), Vec::<String>::new()),
    }
}

#[test]
fn a_lab_failing_half_way_removes_what_it_made() {
    // Kernel tunnel receivers are refused on kernels without IPIP/GRE/FOU, after the
    // namespaces exist; elsewhere the lab simply comes up with them.
    let id = RunId::generate();
    let spec = LabSpec::new(Mode::Tun)
        .tunnel_rx(TunnelRx::Kernel)
        .id(id.clone());
    match Lab::up(spec) {
        Err(lab::LabError::NotRoot) => eprintln!("skipped: needs root (network namespaces)"),
        Err(e) => {
            assert!(e.to_string().contains("lacks IPIP"), "{e}");
            assert_eq!(leftovers(&id), Vec::<String>::new());
            assert!(!state::workdir(&id).exists());
        }
        Ok(lab) => assert_eq!(lab.tunnel_rx(), Some(lab::TunnelRxKind::Kernel)),
    }
}

#[test]
fn a_taken_id_is_refused() {
    let id = RunId::generate();
    let Some(first) = lab_or_skip(LabSpec::new(Mode::Dr).id(id.clone())) else {
        return;
    };
    let second = Lab::up(LabSpec::new(Mode::Nat).id(id.clone()));
    assert!(
        matches!(second, Err(lab::LabError::AlreadyExists(ref taken)) if taken == id.as_str()),
        "{second:?}"
    );
    assert_eq!(first.spec().mode, Mode::Dr, "the first lab is untouched");
    assert_eq!(leftovers(&id).len(), 5);
}

#[test]
fn gc_removes_labs_of_dead_owners_only() {
    let Some(orphan) = lab_or_skip(LabSpec::new(Mode::Nat)) else {
        return;
    };
    assert_eq!(leftovers(orphan.id()).len(), 5);
    let mut child = Command::new("true").spawn().expect("spawn");
    let dead_pid = child.id();
    child.wait().expect("reap");
    let orphan_id = orphan.detach(Some(dead_pid)).expect("detach");
    let ownerless_id = lab_or_skip(LabSpec::new(Mode::Nat))
        .expect("root")
        .detach(None)
        .expect("detach");
    let in_use = lab_or_skip(LabSpec::new(Mode::Nat))
        .expect("root")
        .detach(Some(std::process::id()))
        .expect("detach");
    // (Another gc on the machine may beat this one to the orphans: check the outcome.)
    let removed = teardown::gc(false).expect("gc");
    assert!(!removed.contains(&in_use), "gc removed a lab in use");
    assert_eq!(leftovers(&orphan_id), Vec::<String>::new());
    assert_eq!(leftovers(&ownerless_id), Vec::<String>::new());
    assert!(!state::workdir(&orphan_id).exists());
    assert_eq!(leftovers(&in_use).len(), 5);
    teardown::teardown(&in_use, false).expect("down");
    assert_eq!(leftovers(&in_use), Vec::<String>::new());
}

/// Runs the `rvs-lab` binary.
fn rvs_lab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rvs-lab"))
        .args(args)
        .output()
        .expect("run rvs-lab")
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect()
}

#[test]
fn the_cli_brings_a_lab_up_runs_in_it_and_takes_it_down() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let id = RunId::generate();
    let me = std::process::id().to_string();
    let up = rvs_lab(&[
        "up",
        "--mode",
        "tun",
        "--servers",
        "2",
        "--id",
        id.as_str(),
        "--owner-pid",
        &me,
        "--gateway",
        "10.0.0.3",
    ]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    let env = parse_env(&stdout);
    assert_eq!(env.get("LAB_ID").map(String::as_str), Some(id.as_str()));
    assert_eq!(env.get("LAB_MODE").map(String::as_str), Some("tun"));
    assert_eq!(env.get("LAB_RS2_IP").map(String::as_str), Some("10.0.0.12"));
    assert_eq!(
        env.get("LAB_DIRECTOR1_MAC").map(String::as_str),
        Some("02:00:0a:00:00:02")
    );
    let rx = env.get("LAB_TUNNEL_RX").cloned().unwrap_or_default();
    assert!(rx == "kernel" || rx == "userspace", "{rx}");
    let rs1_ns = env.get("LAB_RS1_NS").cloned().unwrap_or_default();
    assert!(cmd::list_netns().expect("netns").contains(&rs1_ns));

    // The lab outlives the command (the decapsulators keep running) and `env` repeats it.
    let again = rvs_lab(&["env", id.as_str()]);
    assert_eq!(String::from_utf8_lossy(&again.stdout), stdout);
    let attached = Lab::attach(&id).expect("attach");
    assert_eq!(attached.shell_env(), stdout);
    // The library's helpers work in a lab made by the CLI, and twice in a row (a second
    // attached handle reuses the first one's file names).
    for _ in 0..2 {
        let attached = Lab::attach(&id).expect("attach");
        let _web = attached.http_server(NodeId::Server(1), 8080).expect("http");
        let reply = attached
            .curl(NodeId::Server(2), "http://10.0.0.11:8080/")
            .expect("curl on the LAN");
        assert!(
            reply.body.starts_with("server=rs1\nclient=10.0.0.12:"),
            "{}",
            reply.body
        );
    }
    drop(attached);
    assert!(
        !leftovers(&id).is_empty(),
        "dropping an attached handle removed the lab"
    );

    let exec = rvs_lab(&[
        "exec",
        id.as_str(),
        "rs1",
        "--",
        "ip",
        "-4",
        "-o",
        "addr",
        "show",
    ]);
    assert!(
        exec.status.success(),
        "{}",
        String::from_utf8_lossy(&exec.stderr)
    );
    assert!(String::from_utf8_lossy(&exec.stdout).contains("10.0.0.100/32"));
    let route = rvs_lab(&[
        "exec",
        id.as_str(),
        "rs2",
        "--",
        "ip",
        "route",
        "show",
        "default",
    ]);
    assert!(
        String::from_utf8_lossy(&route.stdout).starts_with("default via 10.0.0.3 "),
        "{}",
        String::from_utf8_lossy(&route.stdout)
    );
    // rs1 reaches rs2 on the LAN (no gateway involved; 10.0.0.3 does not exist)...
    let ping = rvs_lab(&[
        "exec",
        id.as_str(),
        "rs1",
        "--",
        "ping",
        "-c1",
        "-W1",
        "10.0.0.12",
    ]);
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );
    // ...but the client gets no answer from rs2: its replies go to the missing gateway.
    let lost = rvs_lab(&[
        "exec",
        id.as_str(),
        "client",
        "--",
        "ping",
        "-c1",
        "-W1",
        "10.0.0.12",
    ]);
    assert!(
        !lost.status.success(),
        "{}",
        String::from_utf8_lossy(&lost.stdout)
    );
    let unknown = rvs_lab(&["exec", id.as_str(), "rs7", "--", "true"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("rs7"));

    // gc spares it: its owner (this test process) is alive.
    let gc = rvs_lab(&["gc"]);
    assert!(gc.status.success());
    assert!(
        !String::from_utf8_lossy(&gc.stdout)
            .lines()
            .any(|l| l == id.as_str())
    );
    assert!(!leftovers(&id).is_empty());

    let down = rvs_lab(&["down", id.as_str()]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(leftovers(&id), Vec::<String>::new());
    assert!(!state::workdir(&id).exists());
    let bad = rvs_lab(&["up", "--mode", "dr", "--servers", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("servers must be 1..=50"));
    let bad_id = rvs_lab(&["up", "--mode", "dr", "--id", "Bad_Id"]);
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("invalid lab id"));
}
