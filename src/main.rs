//! The `httpdb` binary: reads the command line, opens the store, and runs
//! the server until the process is stopped; `httpdb cluster ...` runs the
//! tools for several nodes instead (`src/cluster/`).
//!
//! Every acknowledged write is already in the log when its response leaves
//! (on stable storage with `--fsync always`), so stopping the process with
//! Ctrl-C or `kill -9` loses nothing that was acknowledged.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use httpdb::api::Api;
use httpdb::config::{self, Command, Config, Storage};
use httpdb::server::Server;
use httpdb::store::{Store, StoreOptions};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    if args.next_if(|arg| arg == "cluster").is_some() {
        return httpdb::cluster::main(args);
    }
    match config::parse(args, |name| std::env::var_os(name)) {
        Ok(Command::Run(config)) => run(*config),
        Ok(Command::Help) => {
            print!("{}", config::help());
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("httpdb {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("httpdb: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(mut config: Config) -> ExitCode {
    if let Some(warning) =
        config::open_file_limit().and_then(|limit| config.fit_to_open_file_limit(limit))
    {
        eprintln!("httpdb: warning: {warning}");
    }
    let store = match &config.storage {
        Storage::InMemory => Arc::new(Store::in_memory()),
        Storage::Directory { dir, fsync, repair } => {
            let options = StoreOptions {
                fsync: *fsync,
                repair: *repair,
                ..StoreOptions::default()
            };
            match Store::open(dir, options) {
                Ok((store, report)) => {
                    for warning in &report.warnings {
                        eprintln!("httpdb: warning: {warning}");
                    }
                    eprintln!(
                        "httpdb: opened {}: replayed {} records ({} bytes) in {} ms; fsync {}",
                        dir.display(),
                        report.records,
                        report.bytes,
                        report.elapsed.as_millis(),
                        fsync.as_str()
                    );
                    store
                }
                Err(error) => {
                    eprintln!("httpdb: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let token = config.token.clone();
    let server = match Server::bind(&config.addr, config.server.clone(), |stats| {
        Api::new(store, stats, token)
    }) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("httpdb: cannot listen on {}: {error}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    match server.local_addr() {
        // Scripts and tests read this first line to learn the port.
        Ok(addr) => println!("listening on http://{addr}"),
        Err(error) => {
            eprintln!("httpdb: cannot read the bound address: {error}");
            return ExitCode::FAILURE;
        }
    }
    let _ = std::io::stdout().flush();
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("httpdb: {error}");
            ExitCode::FAILURE
        }
    }
}
