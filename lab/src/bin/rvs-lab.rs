//! `rvs-lab`: the lab for shell scripts (`scripts/demo.sh`).
//!
//! `eval "$(rvs-lab up --mode dr --servers 2 --owner-pid $$)"` builds a lab and defines
//! `LAB_*` variables; `rvs-lab exec "$LAB_ID" rs1 -- cmd` runs a command in a node;
//! `rvs-lab down "$LAB_ID"` removes it; `rvs-lab gc` removes labs whose owner is gone.

use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};
use lab::names::NodeId;
use lab::spec::{LabSpec, Mode, Offloads, TunnelRx};
use lab::{Lab, LabError, RunId, cmd, teardown};

/// Network-namespace lab for rvs: client, router, LAN bridge, directors, real servers.
#[derive(Parser)]
#[command(name = "rvs-lab", version)]
struct Cli {
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Build a lab and print it as shell `LAB_*=value` lines (for `eval`).
    Up {
        /// How real servers are prepared: dr, tun, nat or fullnat.
        #[arg(long)]
        mode: Mode,
        /// Number of real servers (1-50).
        #[arg(long, default_value_t = 1)]
        servers: u8,
        /// Number of director namespaces (1-4).
        #[arg(long, default_value_t = 1)]
        directors: u8,
        /// Add the keepalived peer node (10.0.0.8).
        #[arg(long)]
        peer: bool,
        /// A virtual IP (repeat for more; default 10.0.0.100).
        #[arg(long = "vip")]
        vips: Vec<Ipv4Addr>,
        /// Run id (1-8 of [a-z0-9]; default: generated).
        #[arg(long)]
        id: Option<String>,
        /// TUN mode: how servers decapsulate: auto, kernel or userspace.
        #[arg(long, default_value = "auto")]
        tunnel_rx: String,
        /// UDP port of the GUE receivers (TUN mode).
        #[arg(long, default_value_t = lab::plan::DEFAULT_GUE_PORT)]
        gue_port: u16,
        /// MTU of the LAN links (raise to ~1600 for full-size packets in tunnels).
        #[arg(long, default_value_t = lab::spec::DEFAULT_MTU)]
        lan_mtu: u16,
        /// Real servers' default gateway (default: the router; director1 in NAT mode).
        #[arg(long)]
        gateway: Option<Ipv4Addr>,
        /// Keep veth offloads towards the directors (default: off, for net_af_packet).
        #[arg(long)]
        keep_offloads: bool,
        /// The process the lab belongs to: `gc` removes it once that process is gone.
        /// Default: the parent process (the calling shell); 0: nobody.
        #[arg(long)]
        owner_pid: Option<u32>,
    },
    /// Print the `LAB_*` lines of an existing lab again.
    Env {
        /// Run id.
        id: String,
    },
    /// Run a command inside a node: client, router, lan, directorN, rsN, peer.
    Exec {
        /// Run id.
        id: String,
        /// Node name.
        node: String,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Remove a lab: stop its processes, delete its namespaces and work directory.
    Down {
        /// Run id.
        id: String,
    },
    /// Remove every lab whose owner process is gone (with --all: every lab).
    Gc {
        /// Also remove labs whose owner still runs.
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvs-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(action: Action) -> Result<(), LabError> {
    match action {
        Action::Up {
            mode,
            servers,
            directors,
            peer,
            vips,
            id,
            tunnel_rx,
            gue_port,
            lan_mtu,
            gateway,
            keep_offloads,
            owner_pid,
        } => {
            let mut spec = LabSpec::new(mode).servers(servers).directors(directors);
            spec.peer = peer;
            spec.gue_port = gue_port;
            spec.gateway = gateway;
            spec.lan_mtu = lan_mtu;
            if !vips.is_empty() {
                spec.vips = vips;
            }
            spec.tunnel_rx = parse_tunnel_rx(&tunnel_rx)?;
            if keep_offloads {
                spec.offloads = Offloads::Keep;
            }
            if let Some(id) = id {
                spec.id = Some(RunId::parse(&id)?);
            }
            let lab = Lab::up(spec)?;
            print!("{}", lab.shell_env());
            let owner = match owner_pid {
                Some(0) => None,
                Some(pid) => Some(pid),
                None => Some(nix::unistd::getppid().as_raw().unsigned_abs()),
            };
            lab.detach(owner)?;
            Ok(())
        }
        Action::Env { id } => {
            let lab = Lab::attach(&RunId::parse(&id)?)?;
            print!("{}", lab.shell_env());
            Ok(())
        }
        Action::Exec { id, node, command } => {
            let id = RunId::parse(&id)?;
            let node: NodeId = node.parse()?;
            let netns = id.netns(node);
            if !cmd::list_netns()?.contains(&netns) {
                return Err(LabError::UnknownNode(format!(
                    "{node} (no namespace {netns})"
                )));
            }
            let Some((program, args)) = command.split_first() else {
                return Err(LabError::InvalidSpec("no command given".to_owned()));
            };
            let err = Command::new("ip")
                .args(["netns", "exec", &netns, program])
                .args(args)
                .exec();
            Err(LabError::Spawn {
                command: format!("ip netns exec {netns} {program}"),
                source: err,
            })
        }
        Action::Down { id } => {
            let removed = teardown::teardown(&RunId::parse(&id)?, false)?;
            eprintln!(
                "rvs-lab: removed {} namespaces, stopped {} processes",
                removed.namespaces.len(),
                removed.processes.len()
            );
            Ok(())
        }
        Action::Gc { all } => {
            for id in teardown::gc(all)? {
                println!("{id}");
            }
            Ok(())
        }
    }
}

fn parse_tunnel_rx(text: &str) -> Result<TunnelRx, LabError> {
    match text {
        "auto" => Ok(TunnelRx::Auto),
        "kernel" => Ok(TunnelRx::Kernel),
        "userspace" => Ok(TunnelRx::Userspace),
        other => Err(LabError::InvalidSpec(format!(
            "unknown --tunnel-rx `{other}` (auto, kernel, userspace)"
        ))),
    }
}
