//! `rvsadm`: the command-line entry point (see the `cli` library for everything else).

use std::path::PathBuf;

use cli::client::DEFAULT_TIMEOUT;
use cli::names::{REVERSE_DNS_BUDGET, SystemNames};
use cli::run::{Context, run};
use cli::services_db::{DEFAULT_PATH, ServicesDb};

fn main() {
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let program = argv.next().unwrap_or_else(|| "rvsadm".to_string());
    let mut args: Vec<String> = argv.collect();
    let socket = match cli::take_socket_option(&mut args) {
        Ok(Some(path)) => path,
        Ok(None) => {
            std::env::var(cli::SOCKET_ENV).unwrap_or_else(|_| proto::DEFAULT_SOCKET.to_string())
        }
        Err(exit) => {
            eprint!("{}", exit.stderr);
            std::process::exit(exit.code);
        }
    };
    let services_path =
        std::env::var(cli::SERVICES_ENV).unwrap_or_else(|_| DEFAULT_PATH.to_string());
    let names = SystemNames::new(
        ServicesDb::load(&PathBuf::from(services_path)),
        REVERSE_DNS_BUDGET,
    );
    let ctx = Context {
        program,
        socket: PathBuf::from(socket),
        timeout: DEFAULT_TIMEOUT,
        names: &names,
    };
    let code = run(
        &ctx,
        &args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
