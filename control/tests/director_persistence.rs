//! The state file: written atomically on every change, restored at start with precedence
//! over the configuration file, never half-loaded, corrupt files set aside.

mod director_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use control::config::Config;
use control::director::persist::{self, PersistedState, StateError};
use control::director::{DestHealth, Director, Restored};
use director_support::*;
use proto::{ErrorKind, Request, Timeouts};

const V1: &str = "10.1.0.100:80";

fn config_with_state(dir: &Path) -> (Config, PathBuf) {
    let path = dir.join("lib/rvs/state.json");
    let mut cfg = base_config();
    cfg.daemon.state_file = Some(path.to_string_lossy().into_owned());
    (cfg, path)
}

fn fresh(cfg: Config) -> (Director, Dataplane) {
    let dp = Dataplane::default();
    (
        Director::new(cfg, Box::new(RecordingApplier(dp.clone()))),
        dp,
    )
}

#[test]
fn changes_are_saved_and_restored_by_the_next_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg.clone());
    assert!(!path.exists(), "no change yet, no state file");
    ok(&mut d, add_service(tcp(V1), "wrr"));
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:80", 3));
    ok(
        &mut d,
        Request::SetTimeouts {
            timeouts: Timeouts {
                tcp: 60,
                tcp_fin: 0,
                udp: 0,
            },
        },
    );
    ok(
        &mut d,
        Request::AddAddress {
            address: proto::AddressSpec {
                port: "dp0".into(),
                addr: "10.0.5.1".parse().unwrap(),
                prefix_len: 24,
            },
        },
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    let saved = persist::load(&path).unwrap().unwrap();
    assert_eq!(saved, PersistedState::of(d.configured()));

    // A new daemon from the same configuration file.
    let (mut again, dp) = fresh(cfg);
    assert_eq!(again.restore(&path), Restored::Loaded { warnings: vec![] });
    again.start().unwrap();
    assert_eq!(again.configured(), d.configured());
    assert_eq!(dp.last().0.services[0].real_servers[0].weight, 3);
    assert_eq!(again.configured().timeouts.tcp, 60);
    assert_eq!(again.configured().ports[0].addresses.len(), 2);
}

#[test]
fn the_state_file_wins_over_the_configuration_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg.clone());
    ok(&mut d, add_service(tcp("10.1.0.200:80"), "rr"));
    // Meanwhile the operator edits the file: a service that the state does not have.
    cfg.services.push(control::director::convert::new_service(
        proto::Protocol::Tcp,
        sa(V1),
        &spec(tcp(V1), "wlc"),
    ));
    cfg.dpdk.burst = 16;
    let (mut again, _) = fresh(cfg);
    assert!(matches!(again.restore(&path), Restored::Loaded { .. }));
    let keys: Vec<_> = again
        .configured()
        .services
        .iter()
        .map(control::director::convert::service_key)
        .collect();
    assert_eq!(
        keys,
        vec![tcp("10.1.0.200:80")],
        "services come from the state file as a whole"
    );
    assert_eq!(
        again.configured().dpdk.burst,
        16,
        "everything else comes from the file"
    );
}

#[test]
fn addresses_of_a_port_the_file_no_longer_has_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg.clone());
    ok(&mut d, add_service(tcp(V1), "rr"));
    let mut renamed = cfg;
    renamed.ports[0].name = "dp1".into();
    let (mut again, _) = fresh(renamed);
    match again.restore(&path) {
        Restored::Loaded { warnings } => {
            assert_eq!(warnings.len(), 1);
            assert!(warnings[0].contains("\"dp0\""), "{}", warnings[0]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(again.configured().services.len(), 1);
}

#[test]
fn a_crash_between_write_and_rename_leaves_the_old_file_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg.clone());
    ok(&mut d, add_service(tcp(V1), "wrr"));
    let old = fs::read(&path).unwrap();
    // The next save got as far as its durable temporary file, then the daemon died.
    let mut next = d.configured().clone();
    next.services.clear();
    let tmp_file =
        persist::write_temp(&path, &persist::encode(&PersistedState::of(&next)).unwrap()).unwrap();
    assert!(tmp_file.exists());
    assert_eq!(
        fs::read(&path).unwrap(),
        old,
        "the state file is untouched until the rename"
    );

    let (mut again, _) = fresh(cfg);
    assert!(matches!(again.restore(&path), Restored::Loaded { .. }));
    assert_eq!(
        again.configured().services.len(),
        1,
        "the old state is what comes back"
    );
    assert!(
        !tmp_file.exists(),
        "the leftover temporary file is removed at start"
    );
}

fn assert_set_aside(bytes: &[u8], why: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut cfg, path) = config_with_state(tmp.path());
    cfg.services.push(control::director::convert::new_service(
        proto::Protocol::Tcp,
        sa(V1),
        &spec(tcp(V1), "wlc"),
    ));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    let (mut d, _) = fresh(cfg.clone());
    match d.restore(&path) {
        Restored::SetAside {
            reason,
            moved_to: Some(moved),
        } => {
            assert!(reason.contains(why), "{why}: {reason}");
            assert!(!path.exists());
            assert_eq!(
                fs::read(&moved).unwrap(),
                bytes,
                "the corrupt file is kept for inspection"
            );
            let name = moved.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with("state.json.corrupt-"), "{name}");
        }
        other => panic!("{why}: {other:?}"),
    }
    assert_eq!(
        d.configured(),
        &cfg,
        "{why}: nothing of the corrupt file may be loaded"
    );
    d.start().unwrap();
}

#[test]
fn corrupt_state_files_are_set_aside_never_half_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg);
    ok(&mut d, add_service(tcp("10.1.0.200:80"), "rr"));
    ok(&mut d, add_dest(tcp("10.1.0.200:80"), "10.1.0.20:80", 1));
    let good = fs::read_to_string(&path).unwrap();

    assert_set_aside(b"\x00\x01 not json", "not a state file");
    assert_set_aside(&good.as_bytes()[..good.len() / 2], "not a state file");
    assert_set_aside(
        good.replace("\"weight\": 1", "\"weight\": 2").as_bytes(),
        "checksum mismatch",
    );
    assert_set_aside(
        good.replace("\"format\": 1", "\"format\": 9").as_bytes(),
        "format 9 is not supported",
    );

    // A well-formed file whose state is not a valid configuration (a scheduler rvs lacks).
    let mut state = persist::decode(good.as_bytes()).unwrap();
    state.services[0].scheduler = "nosuch".into();
    assert_set_aside(
        &persist::encode(&state).unwrap(),
        "not a valid configuration",
    );
}

#[test]
fn an_unreadable_state_file_is_reported_and_left_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    fs::create_dir_all(&path).unwrap(); // a directory where the file should be
    let (mut d, _) = fresh(cfg.clone());
    assert!(matches!(d.restore(&path), Restored::Unreadable { .. }));
    assert!(path.is_dir());
    assert_eq!(d.configured(), &cfg);
    assert!(matches!(persist::load(&path), Err(StateError::Read(_))));
}

#[test]
fn a_save_that_fails_undoes_the_change_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("not-a-dir");
    fs::write(&blocker, b"x").unwrap();
    let mut cfg = base_config();
    cfg.daemon.state_file = Some(blocker.join("state.json").to_string_lossy().into_owned());
    let (mut d, dp, _) = started(cfg);
    let before = (d.configured().clone(), d.ids().clone(), d.generation());
    let resp = d.handle(add_service(tcp(V1), "rr"), &root());
    match resp {
        proto::Response::Error { kind, message } => {
            assert_eq!(kind, ErrorKind::Internal);
            assert!(message.contains("cannot save the state"), "{message}");
            assert!(message.ends_with("nothing was changed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.configured(), &before.0);
    assert_eq!(d.generation(), before.2);
    // The dataplane got the change, then the previous configuration back, with the id the
    // change gave out retired.
    let log = dp.applied.lock().unwrap().clone();
    assert_eq!(log.len(), 3, "start, change, undo");
    assert_eq!(log[1].0.services.len(), 1);
    assert_eq!(log[2].0, log[0].0);
    let given = log[1].1.service(&tcp(V1)).unwrap();
    assert_eq!(log[2].1.retired_services(), &[given]);
    assert!(d.ids().service(&tcp(V1)).is_none());
}

#[test]
fn health_verdicts_are_never_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg);
    ok(&mut d, add_service(tcp(V1), "rr"));
    ok(&mut d, add_dest(tcp(V1), "10.1.0.10:80", 1));
    let saved = fs::read(&path).unwrap();
    d.set_dest_health(&tcp(V1), sa("10.1.0.10:80"), DestHealth::Down)
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), saved);
    assert!(d.effective().services[0].real_servers.is_empty());
}

#[test]
fn the_state_file_is_one_readable_json_document() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, path) = config_with_state(tmp.path());
    let (mut d, _, _) = started(cfg);
    ok(&mut d, add_service(tcp(V1), "rr"));
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["format"], 1);
    assert!(v["checksum"].as_str().unwrap().starts_with("crc32:"));
    assert_eq!(v["state"]["services"][0]["address"], "10.1.0.100");
    assert_eq!(v["state"]["services"][0]["scheduler"], "rr");
}
