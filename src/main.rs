//! rvsd: the rvs director daemon.
//!
//! `rvsd --config FILE` runs the dataplane on the configured ports until SIGINT/SIGTERM;
//! `rvsd replay --config FILE --in IN.pcap --out OUT.pcap` runs it over a capture and
//! exits when the capture is drained. This file only parses the command line; each mode
//! lives in its own module.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod bench;
mod config;
mod daemon;
mod eal_args;
mod error;
mod ports;
mod replay;
mod report;
mod snapshot;

/// `rvsd --version`: the crate version, the DPDK it was built against, the git revision.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (DPDK ",
    env!("RVS_DPDK_VERSION"),
    ", git ",
    env!("RVS_GIT_REV"),
    ")"
);

/// The rvs director: a DPDK Layer-4 load balancer.
#[derive(Debug, Parser)]
#[command(name = "rvsd", version = VERSION)]
struct Cli {
    /// The configuration file (TOML, see docs/config.md).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the dataplane on the configured ports until SIGINT or SIGTERM (the default).
    Run,
    /// Run the dataplane over a capture: port 0 reads IN and writes what it transmits to OUT.
    Replay {
        /// The capture to replay (classic pcap, Ethernet).
        #[arg(long = "in", value_name = "IN.pcap")]
        input: PathBuf,
        /// Where the transmitted packets go.
        #[arg(long = "out", value_name = "OUT.pcap")]
        output: PathBuf,
        /// `dpdk`: the real DPDK path through net_pcap; `pcap`: the pure-Rust pcap port
        /// (no EAL), which must give the same packets.
        #[arg(long, value_enum, default_value_t = Engine::Dpdk)]
        engine: Engine,
    },
    /// Measure the worker loop with the local responder over net_null ports (Mpps).
    Bench {
        /// Seconds to measure.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

/// Which port backend a replay uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    Dpdk,
    Pcap,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let cli = Cli::parse();
    if let Some(Command::Bench { seconds }) = cli.command {
        return finish(bench::run(seconds));
    }
    let Some(config_path) = cli.config else {
        eprintln!("rvsd: --config FILE is required (see docs/config.md)");
        return ExitCode::from(2);
    };
    let cfg = match config::load(&config_path) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("rvsd: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run | Command::Bench { .. } => daemon::run(&cfg),
        Command::Replay {
            input,
            output,
            engine,
        } => match engine {
            Engine::Dpdk => replay::run_dpdk(&cfg, &input, &output),
            Engine::Pcap => replay::run_pcap(&cfg, &input, &output),
        },
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
