//! One invocation of `rvsadm`: parse, talk to the daemon if needed, print, and return the
//! exit status.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use proto::{Request, Response, ServiceInfo};

use crate::client::Client;
use crate::command::Command;
use crate::exit::{Exit, Operation, batch_error, daemon_error};
use crate::help;
use crate::listing::{Format, conns, director, rules, services};
use crate::names::Names;
use crate::parse::parse;
use crate::restore;

/// Where and how to reach the daemon, and how to name things.
pub struct Context<'a> {
    /// argv[0], which ipvsadm's messages quote.
    pub program: String,
    pub socket: PathBuf,
    pub timeout: Duration,
    pub names: &'a dyn Names,
}

/// A connection opened on first use, so that commands that need no daemon (`-h`, bad
/// command lines) never touch the socket.
struct Lazy<'c, 'a> {
    ctx: &'c Context<'a>,
    client: Option<Client>,
}

impl Lazy<'_, '_> {
    fn call(&mut self, request: &Request) -> Result<Response, Exit> {
        let client = match &mut self.client {
            Some(c) => c,
            None => self
                .client
                .insert(Client::connect(&self.ctx.socket, self.ctx.timeout)?),
        };
        client.call(request)
    }

    /// Sends a change; `Ok` or the daemon's error in ipvsadm's words.
    fn change(&mut self, request: &Request, op: Operation) -> Result<(), Exit> {
        match self.call(request)? {
            Response::Ok => Ok(()),
            Response::Error { kind, message } => Err(daemon_error(op, kind, &message)),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a query; the daemon's errors end like a failed ipvsadm listing (status 1).
    fn query(&mut self, request: &Request) -> Result<Response, Exit> {
        match self.call(request)? {
            Response::Error { kind, message } => Err(daemon_error(Operation::List, kind, &message)),
            other => Ok(other),
        }
    }

    fn services(&mut self, key: Option<proto::ServiceKey>) -> Result<Vec<ServiceInfo>, Exit> {
        match self.query(&Request::ListServices { key })? {
            Response::Services { services } => Ok(services),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(r: &Response) -> Exit {
    Exit::refused(format!("rvsadm: unexpected reply from rvsd: {r:?}"))
}

/// Runs `args` (without the program name); returns the exit status.
pub fn run(
    ctx: &Context,
    args: &[String],
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match execute(ctx, args, stdin) {
        Ok(text) => {
            // A closed stdout (`rvsadm -L | head`) is not an error worth a message.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            0
        }
        Err(exit) => {
            let _ = err
                .write_all(exit.stderr.as_bytes())
                .and_then(|()| err.flush());
            exit.code
        }
    }
}

fn execute(ctx: &Context, args: &[String], stdin: &mut dyn Read) -> Result<String, Exit> {
    // ipvsadm without arguments lists the table.
    let command = if args.is_empty() {
        Command::ListAll(Format::default())
    } else {
        parse(&ctx.program, args, false, ctx.names)?
    };
    let mut daemon = Lazy { ctx, client: None };
    if let Some((request, op)) = command.change() {
        daemon.change(&request, op)?;
        return Ok(String::new());
    }
    let names = ctx.names;
    Ok(match command {
        Command::Help => help::usage(&ctx.program),
        Command::Version => help::version(),
        Command::ListDaemons => String::new(),
        Command::Restore => {
            let mut input = String::new();
            stdin
                .read_to_string(&mut input)
                .map_err(|e| Exit::usage(format!("cannot read the rules from stdin: {e}")))?;
            let requests = restore::requests(&ctx.program, &input, names)?;
            if !requests.is_empty() {
                let (requests, ops): (Vec<Request>, Vec<Operation>) = requests.into_iter().unzip();
                match daemon.call(&Request::Batch { requests })? {
                    Response::Ok => {}
                    Response::Error { kind, message } => {
                        return Err(batch_error(&ops, kind, &message));
                    }
                    other => return Err(unexpected(&other)),
                }
            }
            String::new()
        }
        Command::ListAll(fmt) => {
            let size = match daemon.query(&Request::Info)? {
                Response::Info { info } => info.conn_table_size,
                other => return Err(unexpected(&other)),
            };
            let list = daemon.services(None)?;
            services::list_all(size, &list, &fmt, names)
        }
        Command::ListService(key, fmt) => {
            let list = daemon.services(Some(key))?;
            let one = list
                .first()
                .ok_or_else(|| Exit::list_failed("No such service"))?;
            services::list_one(one, &fmt, names)
        }
        Command::ListConns(fmt) => match daemon.query(&Request::ListConns)? {
            Response::Conns { conns } => conns::list_conns(&conns, &fmt, names),
            other => return Err(unexpected(&other)),
        },
        Command::ListTimeouts => match daemon.query(&Request::GetTimeouts)? {
            Response::Timeouts { timeouts } => conns::timeouts(&timeouts),
            other => return Err(unexpected(&other)),
        },
        Command::Save { numeric } => rules::save(&daemon.services(None)?, numeric, names),
        Command::GetLocalAddrs { key, numeric } => {
            director::local_addrs(&daemon.services(key)?, numeric, names)
        }
        Command::ListAddresses => match daemon.query(&Request::ListAddresses)? {
            Response::Addresses { addresses } => director::addresses(&addresses),
            other => return Err(unexpected(&other)),
        },
        Command::ListRoutes => match daemon.query(&Request::ListRoutes)? {
            Response::Routes { routes } => director::routes(&routes),
            other => return Err(unexpected(&other)),
        },
        Command::ListNeighs => match daemon.query(&Request::ListNeighs)? {
            Response::Neighs { neighs } => director::neighbours(&neighs),
            other => return Err(unexpected(&other)),
        },
        Command::ListCheckers { numeric } => match daemon.query(&Request::CheckerStatus)? {
            Response::Checkers { checkers } => director::checkers(&checkers, numeric, names),
            other => return Err(unexpected(&other)),
        },
        Command::ListVrrp => match daemon.query(&Request::VrrpStatus)? {
            Response::Vrrp { instances } => director::vrrp(&instances),
            other => return Err(unexpected(&other)),
        },
        Command::ListCounters => match daemon.query(&Request::Counters)? {
            Response::Counters { counters } => director::counters(&counters),
            other => return Err(unexpected(&other)),
        },
        // Changes were sent above.
        other => return Err(Exit::refused(format!("rvsadm: cannot run {other:?}"))),
    })
}
