//! `httpdb cluster ...`: the tools for running several httpdb nodes behind
//! nginx (DESIGN.md, "Growing past one machine").
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

pub mod keys;
pub mod nginx_conf;
pub mod rebalance;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use crate::client::{Client, ClientError, Request, Response};
use crate::config::{self, Command, Config};

/// How long a tool waits for a node to accept a connection, and then for
/// each read and write: long enough for a node under load to answer, short
/// enough that a node that is gone is reported, not waited for.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Why a tool stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// The command line is wrong: exit status 2.
    Usage(String),
    /// A node or the router failed: exit status 1.
    Failed(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message) | Failure::Failed(message) => f.write_str(message),
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

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
    let written = match command.as_deref() {
        None | Some("--help" | "-h" | "help") => out.write_all(HELP.as_bytes()),
        Some("nginx-conf") => return nginx_conf::run(&rest, env, out),
        Some("keys") => return keys::run(&rest, env, out),
        Some("rebalance") => return rebalance::run(&rest, env, out),
        Some(other) => {
            return Err(usage(format!(
                "unknown command '{other}' (see httpdb cluster --help)"
            )));
        }
    };
    written
        .map(|()| ExitCode::SUCCESS)
        .map_err(|error| Failure::Failed(format!("cannot write the output: {error}")))
}

/// One flag a command takes: its name without `--`, whether it takes a
/// value, and whether it may be given more than once.
pub struct FlagSpec {
    pub name: &'static str,
    pub value: bool,
    pub repeated: bool,
}

/// The flags given on a command line, in order.
#[derive(Debug, Default)]
pub struct Flags {
    given: Vec<(&'static str, String)>,
    /// `--help` was asked for.
    pub help: bool,
}

impl Flags {
    /// Reads `--flag value`, `--flag=value` and `--switch` arguments, as the
    /// server's own command line does.
    pub fn parse(args: &[String], specs: &[FlagSpec], command: &str) -> Result<Flags, Failure> {
        let mut flags = Flags::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                flags.help = true;
                continue;
            }
            let Some(stripped) = arg.strip_prefix("--") else {
                return Err(usage(format!(
                    "unexpected argument '{arg}' (see httpdb cluster {command} --help)"
                )));
            };
            let (name, inline) = match stripped.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (stripped, None),
            };
            let Some(spec) = specs.iter().find(|spec| spec.name == name) else {
                return Err(usage(format!(
                    "unknown flag '--{name}' (see httpdb cluster {command} --help)"
                )));
            };
            let value = match (spec.value, inline) {
                (true, Some(value)) => value,
                (true, None) => args
                    .next()
                    .cloned()
                    .ok_or_else(|| usage(format!("--{name} needs a value")))?,
                (false, None) => String::new(),
                (false, Some(_)) => return Err(usage(format!("--{name} takes no value"))),
            };
            if !spec.repeated && flags.given.iter().any(|(given, _)| *given == spec.name) {
                return Err(usage(format!("--{name} is given more than once")));
            }
            flags.given.push((spec.name, value));
        }
        Ok(flags)
    }

    /// The value of a flag given once, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }

    /// Every value of a repeatable flag, in order.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.given
            .iter()
            .filter(move |(given, _)| *given == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether a switch was given.
    pub fn switch(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// The `--node` flags, at least one, as nodes.
    pub fn nodes(&self) -> Result<Vec<Node>, Failure> {
        let nodes = self
            .values("node")
            .map(|url| Node::parse("--node", url))
            .collect::<Result<Vec<Node>, Failure>>()?;
        if nodes.is_empty() {
            return Err(usage("--node URL is required (once for each node)"));
        }
        Ok(nodes)
    }
}

/// The settings the tools share with the server (`--max-body`,
/// `--idle-timeout`, `--token`), read by the server's own command line so
/// that defaults, environment variables (`HTTPDB_MAX_BODY`, ...) and
/// validation are the nodes' by construction, not a second copy.
pub fn shared_settings(
    flags: &Flags,
    names: &[&str],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Config, Failure> {
    let mut args = Vec::new();
    let mut variables = Vec::new();
    for name in names {
        if let Some(value) = flags.value(name) {
            args.push(OsString::from(format!("--{name}={value}")));
        }
        variables.push(format!(
            "HTTPDB_{}",
            name.to_ascii_uppercase().replace('-', "_")
        ));
    }
    let env = |variable: &str| {
        if variables.iter().any(|name| name == variable) {
            env(variable)
        } else {
            None
        }
    };
    match config::parse(args, env) {
        Ok(Command::Run(config)) => Ok(*config),
        Ok(_) => Err(usage("unexpected --help or --version")),
        Err(message) => Err(Failure::Usage(message)),
    }
}

/// A node (or the router) as named on the command line: `http://HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `HOST:PORT`, as written (nginx hashes this spelling, so it is kept).
    pub authority: String,
}

impl Node {
    /// Reads `http://HOST:PORT`, `http://HOST:PORT/` or `HOST:PORT`.
    pub fn parse(flag: &str, url: &str) -> Result<Node, Failure> {
        let bad = |why: &str| usage(format!("{flag} '{url}': {why}"));
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(bad(&format!(
                    "the scheme must be http, not {scheme} (httpdb speaks plain HTTP)"
                )));
            }
            None => url,
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) || authority.is_empty() {
            return Err(bad("expected http://HOST:PORT"));
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !has_port {
            return Err(bad("expected http://HOST:PORT, with the port"));
        }
        Ok(Node {
            authority: authority.to_string(),
        })
    }

    /// The addresses the node's name resolves to.
    pub fn addresses(&self) -> Result<Vec<SocketAddr>, Failure> {
        self.authority
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|error| Failure::Failed(format!("node {self} cannot be resolved: {error}")))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.authority)
    }
}

/// One keep-alive connection to one node, opened when first needed, with
/// the token on every request.
pub struct NodeClient {
    pub node: Node,
    authorization: Option<String>,
    client: Option<Client>,
}

impl NodeClient {
    pub fn new(node: Node, token: Option<&str>) -> NodeClient {
        NodeClient {
            node,
            authorization: token.map(|token| format!("Bearer {token}")),
            client: None,
        }
    }

    /// Closes the connection; the next request opens a new one.
    pub fn close(&mut self) {
        self.client = None;
    }

    /// Sends a request with these header fields and body, and reads its
    /// response.
    ///
    /// A node may close a keep-alive connection while it is idle (RFC 9112
    /// §9.5). If a reused connection turns out to be closed before any of the
    /// response arrives, the request is sent once more on a new connection:
    /// every request the tools send is safe to repeat (reads, and writes
    /// guarded by `If-None-Match: *` or `If-Match`).
    pub fn exchange(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, Failure> {
        let NodeClient {
            node,
            authorization,
            client,
        } = self;
        let mut request = Request::new(method, target).headers(headers);
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let reused = client.is_some();
        match exchange_on(client, node, &request) {
            Err(error) if reused && is_stale(&error) => exchange_on(client, node, &request),
            other => other,
        }
        .map_err(|error| Failure::Failed(format!("node {node} did not answer: {error}")))
    }
}

/// Sends `request` on `client`, connecting first if there is none; keeps
/// the connection only while it can be used again.
fn exchange_on(
    client: &mut Option<Client>,
    node: &Node,
    request: &Request<'_>,
) -> Result<Response, ClientError> {
    let mut connection = match client.take() {
        Some(connection) => connection,
        None => Client::connect(&node.authority, NODE_TIMEOUT)?,
    };
    let response = connection.exchange(request)?;
    if !response.closes() {
        *client = Some(connection);
    }
    Ok(response)
}

/// An error that means the node had closed a reused connection.
fn is_stale(error: &ClientError) -> bool {
    match error {
        ClientError::Closed => true,
        ClientError::Io(error) => matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        ClientError::Malformed(_) => false,
    }
}

/// The request target for a key: the key with every byte that may not stand
/// in a path percent-encoded (RFC 3986 §3.3: `pchar` and `/` stay), so the
/// node decodes it back to exactly the key.
pub fn key_target(key: &str) -> String {
    percent_encode(key, |b| {
        b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)
    })
}

/// A query value with everything but unreserved characters percent-encoded
/// (RFC 3986 §2.3), so `&`, `=`, `+` and `%` in a key stay themselves.
pub fn query_value(value: &str) -> String {
    percent_encode(value, |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn percent_encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The ETag's revision: `"<digits>"`, the only ETags httpdb gives.
pub fn revision_of(response: &Response) -> Option<u64> {
    response
        .header("etag")?
        .strip_prefix('"')?
        .strip_suffix('"')?
        .parse()
        .ok()
}

/// A problem+json `detail`, or the status line when there is none: what a
/// node said when it refused.
pub fn refusal(response: &Response) -> String {
    let detail = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|problem| problem.get("detail")?.as_str().map(str::to_string));
    match detail {
        Some(detail) => format!("{} ({detail})", response.status()),
        None => format!("{} {}", response.status(), response.reason()),
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

    #[test]
    fn flags_name_themselves_when_wrong() {
        let specs = [
            FlagSpec {
                name: "node",
                value: true,
                repeated: true,
            },
            FlagSpec {
                name: "limit",
                value: true,
                repeated: false,
            },
            FlagSpec {
                name: "quiet",
                value: false,
                repeated: false,
            },
        ];
        let parse = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
            Flags::parse(&args, &specs, "test")
        };
        let flags = parse(&["--node", "a:1", "--node=b:2", "--limit", "5", "--quiet"]).unwrap();
        assert_eq!(flags.values("node").collect::<Vec<_>>(), ["a:1", "b:2"]);
        assert_eq!(flags.value("limit"), Some("5"));
        assert!(flags.switch("quiet"));
        for (args, names) in [
            (&["--limit"][..], "--limit"),
            (&["--limit", "1", "--limit", "2"], "--limit"),
            (&["--bogus"], "--bogus"),
            (&["--quiet=yes"], "--quiet"),
            (&["stray"], "stray"),
        ] {
            let error = parse(args).unwrap_err().to_string();
            assert!(error.contains(names), "{args:?}: {error}");
        }
    }

    #[test]
    fn node_urls() {
        for (url, authority) in [
            ("http://127.0.0.1:6111", "127.0.0.1:6111"),
            ("http://localhost:6111/", "localhost:6111"),
            ("127.0.0.1:6112", "127.0.0.1:6112"),
            ("HTTP://[::1]:6113", "[::1]:6113"),
        ] {
            assert_eq!(Node::parse("--node", url).unwrap().authority, authority);
        }
        for url in [
            "https://a:1",
            "http://a",
            "http://a:1/path",
            "http://:1",
            "http://a:99999",
            "",
        ] {
            let error = Node::parse("--node", url).unwrap_err().to_string();
            assert!(error.starts_with("--node"), "{url}: {error}");
        }
    }

    #[test]
    fn keys_and_query_values_are_encoded_to_decode_back() {
        let key = "/users/42 & caf\u{e9}?x=%2F#+";
        let target = key_target(key);
        assert_eq!(target, "/users/42%20&%20caf%C3%A9%3Fx=%252F%23+");
        let decoded = crate::http::uri::percent_decode(&target, false).unwrap();
        assert_eq!(decoded, key.as_bytes());
        let value = query_value(key);
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
        );
        let decoded = crate::http::uri::percent_decode(&value, true).unwrap();
        assert_eq!(decoded, key.as_bytes());
    }

    #[test]
    fn shared_settings_are_the_servers() {
        let specs = [FlagSpec {
            name: "max-body",
            value: true,
            repeated: false,
        }];
        let names = ["max-body", "idle-timeout", "token"];
        let flags = Flags::parse(&["--max-body=1KiB".to_string()], &specs, "test").unwrap();
        let env = |name: &str| {
            match name {
                "HTTPDB_IDLE_TIMEOUT" => Some("7"),
                "HTTPDB_TOKEN" => Some("s3cret"),
                "HTTPDB_ADDR" => Some("not read"),
                _ => None,
            }
            .map(OsString::from)
        };
        let config = shared_settings(&flags, &names, &env).unwrap();
        assert_eq!(config.server.limits.max_body, 1024);
        assert_eq!(config.server.idle_timeout, Duration::from_secs(7));
        assert_eq!(config.token.as_deref(), Some("s3cret"));
        let bad = Flags::parse(&["--max-body=lots".to_string()], &specs, "test").unwrap();
        let error = shared_settings(&bad, &names, &|_| None).unwrap_err();
        assert!(
            matches!(&error, Failure::Usage(m) if m.contains("--max-body")),
            "{error}"
        );
    }
}
