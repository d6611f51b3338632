//! Who may use the control socket: file modes, SO_PEERCRED, the control group.
//!
//! The client side runs as another user: this test binary re-runs itself (the ignored
//! `probe_client` test) with a different uid/gid, which needs root; without root each test
//! prints "skipped: not root" and checks nothing else.

mod socket_support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use control::socket::AccessPolicy;
use control::socket::peer::user_in_group;
use proto::{ErrorKind, Request, Response};
use socket_support::*;

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// What a client running as `uid`/`gid` (no supplementary groups) saw.
#[derive(Debug, PartialEq)]
enum Probe {
    ConnectError(String),
    Replies(Vec<Response>),
}

fn probe_as(uid: u32, gid: u32, socket: &Path, requests: &[Request]) -> Probe {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "probe_client",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RVS_PROBE_SOCKET", socket)
        .env(
            "RVS_PROBE_REQUESTS",
            serde_json::to_string(requests).unwrap(),
        )
        .uid(uid)
        .gid(gid)
        .output()
        .expect("run the probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "probe failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut replies = Vec::new();
    // libtest prints "test probe_client ... " before the test's own output, on the same line.
    let after = |line: &str, marker: &str| {
        line.find(marker)
            .map(|i| line[i + marker.len()..].to_string())
    };
    for line in stdout.lines() {
        if let Some(kind) = after(line, "probe-connect-error: ") {
            return Probe::ConnectError(kind);
        }
        if let Some(json) = after(line, "probe-response: ") {
            replies.push(serde_json::from_str(&json).unwrap());
        }
    }
    assert!(
        stdout.contains("probe-done"),
        "the probe did not run: {stdout}"
    );
    Probe::Replies(replies)
}

/// The client half, run by [`probe_as`] in a child process as another user.
#[test]
#[ignore = "helper run by the other tests as another user, not a test by itself"]
fn probe_client() {
    let Ok(path) = std::env::var("RVS_PROBE_SOCKET") else {
        return;
    };
    let requests: Vec<Request> =
        serde_json::from_str(&std::env::var("RVS_PROBE_REQUESTS").unwrap()).unwrap();
    match Client::connect(Path::new(&path)) {
        Err(e) => println!("probe-connect-error: {:?}", e.kind()),
        Ok(mut c) => {
            for r in &requests {
                println!(
                    "probe-response: {}",
                    serde_json::to_string(&c.call(r)).unwrap()
                );
            }
        }
    }
    println!("probe-done");
}

fn denied() -> Response {
    Response::Error {
        kind: ErrorKind::PermissionDenied,
        message: "Permission denied (you must be root)".into(),
    }
}

#[test]
fn a_root_only_socket_cannot_even_be_opened_by_another_user() {
    if !is_root() {
        println!("skipped: not root");
        return;
    }
    let h = Harness::start(|_| {});
    assert_eq!(
        fs::metadata(&h.path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        probe_as(NOBODY, NOGROUP, &h.path, &[Request::Hello { version: 1 }]),
        Probe::ConnectError("PermissionDenied".into())
    );
}

#[test]
fn a_peer_that_is_not_allowed_is_answered_permission_denied_and_changes_nothing() {
    if !is_root() {
        println!("skipped: not root");
        return;
    }
    let h = Harness::start(|_| {});
    // Someone loosened the file's mode: the credential check still holds.
    fs::set_permissions(&h.path, fs::Permissions::from_mode(0o666)).unwrap();
    let got = probe_as(
        NOBODY,
        NOGROUP,
        &h.path,
        &[
            Request::Hello { version: 1 },
            add_service(tcp("10.1.0.100:80"), "rr"),
            Request::ListServices { key: None },
            Request::Clear,
        ],
    );
    let Probe::Replies(replies) = got else {
        panic!("{got:?}")
    };
    assert!(matches!(replies[0], Response::Hello { .. }));
    assert_eq!(replies[1..], [denied(), denied(), denied()]);
    assert!(h.inspect(|d| d.configured().services.is_empty()));
    assert_eq!(h.dp.count(), 1, "only the start reached the dataplane");
    // Root, on the same socket, is served.
    let mut c = h.client();
    c.hello();
    assert_eq!(
        c.call(&add_service(tcp("10.1.0.100:80"), "rr")),
        Response::Ok
    );
}

#[test]
fn members_of_the_control_group_may_use_the_socket() {
    if !is_root() {
        println!("skipped: not root");
        return;
    }
    let h = Harness::start(|o| o.group = Some(NOGROUP.to_string()));
    let meta = fs::metadata(&h.path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), NOGROUP);
    let got = probe_as(
        NOBODY,
        NOGROUP,
        &h.path,
        &[
            Request::Hello { version: 1 },
            add_service(tcp("10.1.0.100:80"), "rr"),
        ],
    );
    let Probe::Replies(replies) = got else {
        panic!("{got:?}")
    };
    assert_eq!(replies[1], Response::Ok);
    assert_eq!(h.inspect(|d| d.configured().services.len()), 1);
    // A user outside the group cannot open the 0660 socket.
    assert_eq!(
        probe_as(
            NOBODY - 1,
            NOGROUP - 1,
            &h.path,
            &[Request::Hello { version: 1 }]
        ),
        Probe::ConnectError("PermissionDenied".into())
    );
}

#[test]
fn root_is_always_allowed_and_others_only_through_the_group() {
    let root_only = AccessPolicy::root_only();
    assert!(root_only.allows(0, 12345));
    assert!(!root_only.allows(NOBODY, 0), "gid 0 alone is not root");
    let group = AccessPolicy::resolve(Some(&NOGROUP.to_string())).unwrap();
    assert_eq!(group.gid(), Some(NOGROUP));
    assert!(group.allows(NOBODY, NOGROUP), "primary (effective) gid");
    assert!(!group.allows(NOBODY - 1, NOGROUP - 1));
}

/// A user listed as a member of a group in the group database (a supplementary group).
fn supplementary_member() -> Option<(String, u32, u32)> {
    let text = fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, _, gid, members) = (f.next()?, f.next()?, f.next()?, f.next()?);
        let member = members.split(',').find(|m| !m.is_empty())?;
        let user = nix::unistd::User::from_name(member).ok()??;
        let gid: u32 = gid.parse().ok()?;
        (user.gid.as_raw() != gid).then(|| (name.to_string(), user.uid.as_raw(), gid))
    })
}

#[test]
fn supplementary_group_membership_counts() {
    let Some((group_name, uid, gid)) = supplementary_member() else {
        println!("skipped: no user with a supplementary group in /etc/group");
        return;
    };
    assert!(user_in_group(uid, gid));
    let policy = AccessPolicy::resolve(Some(&group_name)).unwrap();
    assert_eq!(policy.gid(), Some(gid));
    // The peer's own gid is something else: only getgrouplist can say yes.
    assert!(policy.allows(uid, 999_999));
    if !user_in_group(NOBODY, gid) {
        assert!(!policy.allows(NOBODY, NOGROUP));
    }
}
