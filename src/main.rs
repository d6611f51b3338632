//! rvsd: the rvs director daemon.
//!
//! `rvsd --config FILE` runs the director (dataplane workers, kernel-side TAP ports,
//! control socket, health checkers, VRRP) until SIGINT/SIGTERM; `rvsd --check-config FILE` says whether a configuration is valid and what
//! it would run; `rvsd replay --config FILE --in IN.pcap --out OUT.pcap` runs the dataplane
//! over captures and exits when they are drained. This file only parses the command line;
//! each mode lives in its own module.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod applier;
mod bench;
mod config;
mod counters;
mod daemon;
mod eal_args;
mod error;
mod fleet;
mod health;
mod kport;
mod ownership;
mod ports;
mod replay;
mod report;
mod slots;
mod snapshot;
mod status;
mod steering;
mod vrrp;

/// `rvsd --version`: the crate version, the DPDK it was built against, the git revision.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (DPDK ",
    env!("RVS_DPDK_VERSION"),
    ", git ",
    env!("RVS_GIT_REV"),
    ")"
);

/// Exit status of a configuration that does not load (and of a missing `--config`).
const EXIT_CONFIG: u8 = 2;

/// The rvs director: a DPDK Layer-4 load balancer.
#[derive(Debug, Parser)]
#[command(name = "rvsd", version = VERSION)]
struct Cli {
    /// The configuration file: rvs TOML (docs/config.md) or a keepalived.conf.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate FILE (TOML or keepalived.conf), print what it would run, and exit: 0 when
    /// valid, 1 when not.
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the director on the configured ports until SIGINT or SIGTERM (the default).
    Run,
    /// Run the dataplane over captures: worker w reads the w-th --in as queue w of port 0
    /// and writes what it transmits there to the w-th --out.
    Replay {
        /// A capture to replay (classic pcap, Ethernet); one per worker.
        #[arg(long = "in", value_name = "IN.pcap", required = true)]
        inputs: Vec<PathBuf>,
        /// Where the transmitted packets go; one per --in.
        #[arg(long = "out", value_name = "OUT.pcap", required = true)]
        outputs: Vec<PathBuf>,
        /// `dpdk`: the real DPDK path through net_pcap; `pcap`: the pure-Rust pcap port
        /// (no EAL), which must give the same packets.
        #[arg(long, value_enum, default_value_t = EngineArg::Dpdk)]
        engine: EngineArg,
        /// rvsadm command lines to apply at capture times: `SECONDS ARGS...` per line,
        /// seconds after the first packet (pcap engine only).
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
        /// Replay several inputs in slices of this many microseconds of capture time, so
        /// packets of different inputs reach the workers in capture order (pcap engine
        /// only; without it each input is read in bursts, as net_pcap does).
        #[arg(long, value_name = "US")]
        slice_us: Option<u64>,
        /// Write the counters (worker totals, and each service's and real server's
        /// connections, packets, bytes and connection gauges) to FILE as JSON at the end.
        #[arg(long, value_name = "FILE")]
        counters: Option<PathBuf>,
    },
    /// Measure the worker loop over net_null ports (Mpps): the local responder, or the
    /// forwarding of established connections of one method.
    Bench {
        /// Seconds to measure.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// What each packet goes through.
        #[arg(long, value_enum, default_value_t = bench::Mode::Local)]
        mode: bench::Mode,
    },
}

/// Which port backend a replay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    Dpdk,
    Pcap,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let cli = Cli::parse();
    if let Some(path) = &cli.check_config {
        let report = control::config::check_config(path);
        print!("{}", report.output);
        return ExitCode::from(u8::try_from(report.exit_code).unwrap_or(1));
    }
    if let Some(Command::Bench { seconds, mode }) = cli.command {
        return finish(bench::run(seconds, mode));
    }
    let Some(config_path) = cli.config else {
        eprintln!("rvsd: --config FILE is required (see docs/config.md)");
        return ExitCode::from(EXIT_CONFIG);
    };
    let cfg = match config::load(&config_path) {
        Ok(cfg) => cfg,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("rvsd: {line}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run | Command::Bench { .. } => daemon::run(cfg),
        Command::Replay {
            inputs,
            outputs,
            engine,
            script,
            slice_us,
            counters,
        } => replay::run(
            cfg,
            &replay::ReplayArgs {
                inputs,
                outputs,
                engine: match engine {
                    EngineArg::Dpdk => replay::Engine::Dpdk,
                    EngineArg::Pcap => replay::Engine::Pcap,
                },
                script,
                slice_ns: slice_us.map(|us| us.saturating_mul(1000)),
                counters,
            },
        ),
    };
    finish(result)
}

fn finish(result: Result<(), error::RvsdError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvsd: {e}");
            ExitCode::FAILURE
        }
    }
}
