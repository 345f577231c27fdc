//! `httpdb cluster ...`: the tools for running several httpdb nodes behind
//! nginx (README, "Several nodes").
//!
//! httpdb does not grow into a cluster of its own. nginx spreads keys over
//! the nodes by consistent hashing on the key, so each key lives on exactly
//! one node, and compare-and-swap, ETags and durability stay what they are
//! on one node. These tools make that exact:
//!
//! - `nginx-conf` ([`nginx_conf`]) prints the router's configuration, every
//!   directive explained;
//! - `keys` ([`keys`]) lists keys across the nodes, as `/_keys` does on one;
//! - `rebalance` ([`rebalance`]) moves each key to the node the router now
//!   names, after nodes were added or removed.
//!
//! They talk to the nodes with [`crate::client`], one keep-alive connection
//! per node ([`NodeClient`]). A usage error prints one line naming the flag
//! and exits with status 2; a node that does not answer prints one line
//! naming the node and exits with status 1.

mod failure;
mod flags;
pub mod keys;
pub mod nginx_conf;
mod node;
pub mod rebalance;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

pub use failure::Failure;
use failure::{print, usage};
pub use node::{Node, NodeClient};

const HELP: &str = "\
httpdb cluster: tools for several httpdb nodes behind one nginx router

Usage: httpdb cluster COMMAND [FLAGS]

Commands:
  nginx-conf   print the router's nginx configuration
  keys         list keys across nodes, as /_keys does on one node
  rebalance    move each key to the node the router names for it

`httpdb cluster COMMAND --help` describes each one. A usage error exits
with status 2, a node that does not answer with status 1.
";

/// Runs `httpdb cluster ARGS...` (the arguments after `cluster`), printing
/// results on stdout and errors on stderr.
pub fn main(args: impl Iterator<Item = OsString>) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match run(args, &|name| std::env::var_os(name), &mut stdout) {
        Ok(code) => code,
        Err(failure) => {
            let _ = stdout.flush();
            eprintln!("httpdb cluster: {failure}");
            match failure {
                Failure::Usage(_) => ExitCode::from(2),
                Failure::Failed(_) => ExitCode::FAILURE,
            }
        }
    }
}

/// [`main`] with the environment and stdout passed in.
pub fn run(
    args: impl Iterator<Item = OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    let mut args = args
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| usage(format!("{} is not valid UTF-8", arg.to_string_lossy())))
        })
        .collect::<Result<Vec<String>, Failure>>()?
        .into_iter();
    let command = args.next();
    let rest: Vec<String> = args.collect();
    match command.as_deref() {
        None | Some("--help" | "-h" | "help") => print(out, HELP).map(|()| ExitCode::SUCCESS),
        Some("nginx-conf") => nginx_conf::run(&rest, env, out),
        Some("keys") => keys::run(&rest, env, out),
        Some("rebalance") => rebalance::run(&rest, env, out),
        Some(other) => Err(usage(format!(
            "unknown command '{other}' (see httpdb cluster --help)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(args: &[&str]) -> (Result<ExitCode, Failure>, String) {
        let mut out = Vec::new();
        let result = run(args.iter().map(OsString::from), &|_| None, &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    #[test]
    fn help_lists_the_commands() {
        for args in [&[][..], &["--help"]] {
            let (result, out) = run_with(args);
            assert!(result.is_ok());
            for command in ["nginx-conf", "keys", "rebalance"] {
                assert!(out.contains(command), "{out}");
            }
        }
        let (result, _) = run_with(&["scale-up"]);
        assert!(matches!(result, Err(Failure::Usage(m)) if m.contains("scale-up")));
    }
}
