//! Build facts for `rvsd --version`: the DPDK version we compiled against
//! (from pkg-config) and the git revision of the tree.
use std::process::Command;

fn main() {
    let dpdk = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("libdpdk")
        .map(|lib| lib.version)
        .unwrap_or_else(|_| "unknown".to_string());
    let rev = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RVS_DPDK_VERSION={dpdk}");
    println!("cargo:rustc-env=RVS_GIT_REV={rev}");
    // In a worktree `.git` is a file; only watch paths that exist, since a missing
    // path would make cargo rerun this script on every build.
    for path in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
