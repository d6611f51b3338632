//! Running programs, in the root namespace or inside a lab namespace.
//!
//! The lab drives iproute2, sysctl, ethtool and friends as programs rather than through
//! netlink or `setns`: entering a namespace is per thread and the tests are multi-threaded,
//! and `ip netns exec` also remounts `/sys` for the namespace, which tools like tcpdump
//! need. `ip netns exec` execs the program in place, so the pid we hold is the program's.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{LabError, Result};

/// A program the lab needs and the Debian package that brings it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// Program name.
    pub name: &'static str,
    /// Debian package.
    pub package: &'static str,
}

/// iproute2.
pub const IP: Tool = Tool {
    name: "ip",
    package: "iproute2",
};
/// procps' sysctl.
pub const SYSCTL: Tool = Tool {
    name: "sysctl",
    package: "procps",
};
/// ethtool, for the offload policy.
pub const ETHTOOL: Tool = Tool {
    name: "ethtool",
    package: "ethtool",
};
/// tcpdump, for captures.
pub const TCPDUMP: Tool = Tool {
    name: "tcpdump",
    package: "tcpdump",
};
/// curl, for HTTP clients.
pub const CURL: Tool = Tool {
    name: "curl",
    package: "curl",
};
/// wrk, for load.
pub const WRK: Tool = Tool {
    name: "wrk",
    package: "wrk",
};
/// nginx, for PROXY protocol logging.
pub const NGINX: Tool = Tool {
    name: "nginx",
    package: "nginx",
};
/// keepalived, the VRRP peer.
pub const KEEPALIVED: Tool = Tool {
    name: "keepalived",
    package: "keepalived",
};
/// ping.
pub const PING: Tool = Tool {
    name: "ping",
    package: "iputils-ping",
};

/// Directories searched after `$PATH`: tests may run with a user's PATH that lacks sbin.
const EXTRA_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The full path of `tool`, or `MissingTool`.
pub fn find(tool: Tool) -> Result<PathBuf> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(tool.name))
        .find(|candidate| is_executable(candidate))
        .ok_or(LabError::MissingTool {
            tool: tool.name,
            package: tool.package,
        })
}

/// The Python that runs the lab's helper scripts: the system one (Debian's
/// `/usr/bin/python3`) before any pyenv shim on `$PATH`, since only it is sure to have the
/// distribution's modules.
pub fn python() -> Result<PathBuf> {
    let system = Path::new("/usr/bin/python3");
    if is_executable(system) {
        return Ok(system.to_path_buf());
    }
    find(Tool {
        name: "python3",
        package: "python3",
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `program args...` in the root namespace.
pub fn root_command<S: AsRef<OsStr>>(program: impl AsRef<OsStr>, args: &[S]) -> Command {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    command
}

/// `ip netns exec NETNS program args...`.
pub fn netns_command<S: AsRef<OsStr>>(
    netns: &str,
    program: impl AsRef<OsStr>,
    args: &[S],
) -> Command {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", netns])
        .arg(program)
        .args(args)
        .stdin(Stdio::null());
    command
}

/// The command line of `command`, for error messages.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `command` to completion and returns its output whatever the exit status.
pub fn output(command: &mut Command) -> Result<Output> {
    command.output().map_err(|source| LabError::Spawn {
        command: describe(command),
        source,
    })
}

/// Runs `command` and fails unless it exits 0; returns its stdout as text.
pub fn run(command: &mut Command) -> Result<String> {
    let out = output(command)?;
    check(command, &out)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Turns a non-zero exit into `LabError::Command`.
pub fn check(command: &Command, out: &Output) -> Result<()> {
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::Command {
            command: describe(command),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// `ip ARGS` in the root namespace (with `-n NETNS` among the args where needed).
pub fn ip<S: AsRef<OsStr>>(args: &[S]) -> Result<String> {
    run(&mut root_command("ip", args))
}

/// `ip -n NETNS ARGS`.
pub fn ip_in(netns: &str, args: &[&str]) -> Result<String> {
    let mut command = root_command("ip", &["-n", netns]);
    command.args(args);
    run(&mut command)
}

/// Sets sysctls (`key=value`) inside `netns` in one `sysctl -w` run.
pub fn sysctl_in(netns: &str, settings: &[String]) -> Result<()> {
    if settings.is_empty() {
        return Ok(());
    }
    let mut args = vec!["-q".to_owned(), "-w".to_owned()];
    args.extend(settings.iter().cloned());
    run(&mut netns_command(netns, "sysctl", &args)).map(|_| ())
}

/// The lab namespaces that exist now (`ip netns list`, first word of each line).
pub fn list_netns() -> Result<Vec<String>> {
    let text = ip(&["netns", "list"])?;
    Ok(parse_netns_list(&text))
}

/// Names from `ip netns list` output (`name (id: 3)` or `name`).
pub fn parse_netns_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Interface names in the root namespace (`ip -o link show`: `3: name@peer: <...`).
pub fn list_root_links() -> Result<Vec<String>> {
    let text = ip(&["-o", "link", "show"])?;
    Ok(parse_link_names(&text))
}

/// Interface names from `ip -o link show` output.
pub fn parse_link_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn netns_list_is_parsed() {
        let text = "rvl-abc-rs1 (id: 4)\nrvl-abc-lan\n\nother (id: 0)\n";
        assert_eq!(
            parse_netns_list(text),
            vec!["rvl-abc-rs1", "rvl-abc-lan", "other"]
        );
    }

    #[test]
    fn link_names_are_parsed() {
        let text = "1: lo: <LOOPBACK,UP> mtu 65536\n4: rvlabcs1@if3: <BROADCAST> mtu 1500\n";
        assert_eq!(parse_link_names(text), vec!["lo", "rvlabcs1"]);
    }

    #[test]
    fn missing_tools_name_their_package() {
        let err = find(Tool {
            name: "no-such-tool-rvs",
            package: "rvs-pkg",
        })
        .expect_err("not installed");
        assert_eq!(
            err.to_string(),
            "`no-such-tool-rvs` is not installed (Debian package `rvs-pkg`)"
        );
    }

    #[test]
    fn failed_commands_carry_stderr() {
        let err =
            run(&mut root_command("sh", &["-c", "echo oops >&2; exit 3"])).expect_err("exit 3");
        let text = err.to_string();
        assert!(
            text.contains("oops") && text.contains("exit status: 3"),
            "{text}"
        );
    }

    proptest! {
        #[test]
        fn listing_parsers_never_panic(text in ".{0,200}") {
            let _ = parse_netns_list(&text);
            let _ = parse_link_names(&text);
        }
    }
}
