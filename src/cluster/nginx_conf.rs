//! `httpdb cluster nginx-conf`: the router's nginx configuration, every
//! directive explained where it stands.
//!
//! What the configuration must get right, and why (README, "Several
//! nodes"):
//! - one key, one node: `hash $uri consistent` hashes the decoded path
//!   without the query, which is how a node spells the key; `max_fails=0`
//!   and `proxy_next_upstream off` keep a failing node's keys from being
//!   sent to another node;
//! - nothing between the client and the node changes bytes or ETags;
//! - timeouts ordered so that nginx never sends a request on a pooled
//!   connection the node is closing for idleness: nginx gives up a pooled
//!   connection after half the nodes' `--idle-timeout`. The values the
//!   nodes use (`--max-body`, `--idle-timeout`) default to the server's own
//!   defaults, read from its command line (`shared_settings` in `flags.rs`);
//! - `/_keys`, `/_all` and `/_stats` refused at the router with `403`: see
//!   [`REFUSED_STATUS`].
//!
//! nginx behaviour relied on, as its source has it (1.22 to 1.29):
//! `ngx_http_parse_complex_uri` decodes `%XX` and then treats the decoded
//! byte as if written (so `%2F` is `/`) before `$uri` and `location`
//! matching see the path; `proxy_pass` without a URI part sends the
//! client's target unchanged; `ngx_http_upstream_next` gives up, without a
//! retry, when `proxy_next_upstream` does not list the failure, or the body
//! was streamed (`proxy_request_buffering off`); the keepalive module closes
//! a pooled connection when its `keepalive_timeout` timer fires or the node
//! closes it, and otherwise hands out the most recently used one first.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::failure::{Failure, print, usage};
use super::flags::{FlagSpec, Flags, shared_settings};
use super::node::{Node, nodes};

/// The status for `/_keys`, `/_all` and `/_stats` at the router: `403
/// Forbidden`, "the server understood the request but refuses to fulfill
/// it", with the reason in the content (RFC 9110 §15.5.4). Not `404`, which
/// would say there is no listing, and which caches heuristically
/// (§15.1); not `405`, which must list allowed methods in `Allow`, and there
/// are none; not `421 Misdirected Request`, which tells clients to retry on
/// another connection to the same origin (§15.5.20), where they would get
/// the same answer; not `501`, a server error that monitoring counts as an
/// outage and that caches heuristically too.
pub const REFUSED_STATUS: u16 = 403;

/// Idle connections to the nodes each nginx worker keeps. Far fewer than
/// a node's default `--threads` (a test checks), so pooled connections alone
/// never occupy a node's workers.
pub const POOL: usize = 32;

const HELP: &str = "\
httpdb cluster nginx-conf: print the nginx configuration of a router

Usage: httpdb cluster nginx-conf --listen HOST:PORT --node URL [--node URL ...]

  --listen HOST:PORT      where the router listens
  --node URL              a node, http://HOST:PORT; once per node. Keep each
                          node's spelling when adding one: ownership hashes it
  --max-body BYTES        the nodes' --max-body [env: HTTPDB_MAX_BODY]
                          [default: the server's]
  --idle-timeout SECONDS  the nodes' --idle-timeout [env: HTTPDB_IDLE_TIMEOUT]
                          [default: the server's]
  --pause-writes          refuse writes (503) while keys are rebalanced

Run it without root, everything under DIR:
  nginx -p DIR -c FILE -g 'daemon off;'
";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::once("listen"),
    FlagSpec::many("node"),
    FlagSpec::once("max-body"),
    FlagSpec::once("idle-timeout"),
    FlagSpec::switch("pause-writes"),
];

/// What the configuration is made from.
#[derive(Clone, Debug)]
pub struct Router {
    /// `HOST:PORT` the router listens on.
    pub listen: String,
    /// The nodes, in the order given (their names decide ownership).
    pub nodes: Vec<Node>,
    /// The nodes' `--max-body`.
    pub max_body: u64,
    /// The nodes' `--idle-timeout`.
    pub idle_timeout: Duration,
    /// Refuse writes (`503`) while keys are rebalanced.
    pub pause_writes: bool,
}

/// `httpdb cluster nginx-conf ARGS`.
pub fn run(
    args: &[String],
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    let flags = Flags::parse(args, FLAGS, "nginx-conf")?;
    if flags.help {
        return print(out, HELP).map(|()| ExitCode::SUCCESS);
    }
    let listen = flags
        .value("listen")
        .ok_or_else(|| usage("--listen HOST:PORT is required"))?;
    let listen = Node::parse("--listen", listen)?.authority;
    let nodes = nodes(&flags)?;
    let settings = shared_settings(&flags, &["max-body", "idle-timeout"], env)?;
    let router = Router {
        listen,
        nodes,
        max_body: settings.server.limits.max_body,
        idle_timeout: settings.server.idle_timeout,
        pause_writes: flags.switch("pause-writes"),
    };
    print(out, &render(&router)).map(|()| ExitCode::SUCCESS)
}

/// How long nginx keeps a pooled connection idle: half the nodes' idle
/// timeout. A node starts counting idleness when it has written a response,
/// nginx only once it has read it and pooled the connection, and a request
/// nginx sends must then reach the node before the node gives up; half the
/// timeout leaves the other half for that (seconds, against delays of
/// microseconds on a quiet machine), and costs only a new TCP connection
/// after a pause.
pub fn pool_idle_timeout(node_idle_timeout: Duration) -> Duration {
    node_idle_timeout / 2
}

/// The router's own path, answered by nginx itself.
pub const ROUTER_PATH: &str = "/_router";

/// What [`ROUTER_PATH`] answers: `{"nodes":[HOST:PORT, ...],"writes":"paused"}`
/// (or `"open"`).
pub fn description(router: &Router) -> String {
    let nodes: Vec<&str> = router
        .nodes
        .iter()
        .map(|node| node.authority.as_str())
        .collect();
    let writes = if router.pause_writes {
        "paused"
    } else {
        "open"
    };
    let text = serde_json::json!({ "nodes": nodes, "writes": writes }).to_string();
    debug_assert!(!text.contains(['$', '\'', '\\']), "{text}");
    text
}

/// The header that names the configuration that answered: the
/// [`digest`] of its [`description`].
pub const ROUTER_HEADER: &str = "X-Httpdb-Router";

/// The header that names the node a key went to (nginx's `$upstream_addr`),
/// on every response, errors included: the owner of the key.
pub const NODE_HEADER: &str = "X-Httpdb-Node";

/// A short name for a router configuration: FNV-1a (64 bits) of its
/// description, in hex. After `nginx -s reload`, workers of the old
/// configuration finish what they hold and may still accept a connection
/// or two; this header tells their answers from the new ones.
pub fn digest(description: &str) -> String {
    let hash = description
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
}

/// A problem+json body (RFC 9457) as nginx returns it: in single quotes,
/// without `$` (nginx would read a variable) or `'`.
fn problem(status: u16, title: &str, detail: &str) -> String {
    let body = format!(
        "{{\"type\":\"about:blank\",\"title\":\"{title}\",\"status\":{status},\"detail\":{}}}",
        serde_json::Value::from(detail)
    );
    debug_assert!(!body.contains(['$', '\'', '\\']), "{body}");
    format!("'{body}'")
}

/// The configuration text.
pub fn render(router: &Router) -> String {
    let mut text = String::new();
    let mut line = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    let nodes: Vec<String> = router.nodes.iter().map(Node::to_string).collect();
    let idle_ms = router.idle_timeout.as_millis();
    let pool_ms = pool_idle_timeout(router.idle_timeout).as_millis();

    line("# The nginx configuration of an httpdb router, printed by");
    let mut command = format!("#   httpdb cluster nginx-conf --listen {}", router.listen);
    for node in &nodes {
        let _ = write!(command, " --node {node}");
    }
    let _ = write!(
        command,
        " --max-body {} --idle-timeout {}{}",
        router.max_body,
        router.idle_timeout.as_secs_f64(),
        if router.pause_writes {
            " --pause-writes"
        } else {
            ""
        }
    );
    line(&command);
    line("# Run it without root, every file it writes under one directory:");
    line("#   nginx -p DIR -c FILE -g 'daemon off;'");
    line("# and after printing a new version into FILE: nginx -p DIR -c FILE -s reload");
    line("#");
    line("# Each key lives on exactly one node, so compare-and-swap, ETags and");
    line("# durability are what they are on one node. Nothing here rewrites,");
    line("# caches or compresses a response: clients get the nodes' bytes and ETags.");
    line("");
    line("# Every file nginx writes is relative to the prefix (-p DIR), so it");
    line("# needs no root and no directory but DIR.");
    line("pid nginx.pid;");
    line("error_log error.log;");
    line("");
    line("# One worker per core; each keeps its own pool of connections to the nodes.");
    line("worker_processes auto;");
    line("");
    line("# How workers take connections.");
    line("events {");
    line("    # Connections per worker; a proxied request holds two (client, node).");
    line("    worker_connections 1024;");
    line("}");
    line("");
    line("# HTTP: where files go, the log, the nodes, and the router itself.");
    line("http {");
    line("    # nginx creates these at start even when nothing needs them: under");
    line("    # the prefix, not in the system's directories.");
    line("    client_body_temp_path client_body_temp;");
    line("    proxy_temp_path proxy_temp;");
    line("    fastcgi_temp_path fastcgi_temp;");
    line("    uwsgi_temp_path uwsgi_temp;");
    line("    scgi_temp_path scgi_temp;");
    line("");
    line("    # One line per request, naming the node that answered it.");
    line(
        "    log_format httpdb '$remote_addr [$time_local] \"$request\" $status $body_bytes_sent node=$upstream_addr $request_time';",
    );
    line("    access_log access.log httpdb;");
    line("");
    line("    # The nodes, and how a key picks its node.");
    line("    upstream httpdb_nodes {");
    line("        # A node's key is the request's path, percent-decoded, without the");
    line("        # query; $uri is that path as nginx decodes it, so every spelling of");
    line("        # a key (%2F or /, any query) hashes alike. $request_uri, the raw");
    line("        # target, would spread one key over several nodes. consistent");
    line("        # (ketama): adding or removing a node moves only about 1/N of the keys.");
    line("        hash $uri consistent;");
    line("");
    line("        # The nodes. Which keys a node owns depends on its name as written");
    line("        # here: keep each spelling when adding a node. max_fails=0: a node");
    line("        # that fails is never marked down, so its keys fail (502) instead of");
    line("        # going to another node, where they would be written and seem lost");
    line("        # once their owner is back.");
    for node in &router.nodes {
        line(&format!("        server {} max_fails=0;", node.authority));
    }
    line("");
    line("        # Idle connections to the nodes kept open per worker, so a request");
    line("        # does not wait for a TCP handshake. Far fewer than a node's workers");
    line("        # (--threads), so pooled connections alone never keep a node busy.");
    line(&format!("        keepalive {POOL};"));
    line("");
    line(&format!(
        "        # An idle pooled connection is closed after {pool_ms} ms, half the nodes'"
    ));
    line(&format!(
        "        # --idle-timeout ({idle_ms} ms): nginx gives it up before the node"
    ));
    line("        # would, so it never sends a request on a connection the node is");
    line("        # closing for idleness, which (with no retry, below) would be a 502.");
    line("        # What remains: a node whose workers are all busy may close an idle");
    line("        # connection at any time to serve a newcomer (RFC 9112 §9.5). A request");
    line("        # that reached it first is still answered, with Connection: close;");
    line("        # one still on the wire as it closes gets 502. nginx reuses the most");
    line("        # recently used connection and a node reclaims the one idle longest,");
    line("        # so the two rarely meet; and only an overloaded node reclaims: give");
    line("        # it more --threads.");
    line(&format!("        keepalive_timeout {pool_ms}ms;"));
    line("    }");
    line("");
    line("    # The router: where clients connect and what it does with a request.");
    line("    server {");
    line("        # Where clients connect.");
    line(&format!("        listen {};", router.listen));
    line("");
    line(&format!(
        "        # Bodies as large as the nodes take (--max-body, {} bytes) and no",
        router.max_body
    ));
    line("        # larger: nginx answers 413 itself, before the upload, as a node would.");
    line(&format!(
        "        client_max_body_size {};",
        router.max_body
    ));
    line("");
    line("        # nginx reads the path as a node does, //a apart from /a: merged,");
    line("        # //_keys, a key like any other on a node, would be refused as /_keys.");
    line("        merge_slashes off;");
    line("");
    line("        # nginx's own answers below are problem+json, as a node's errors are.");
    line("        default_type application/problem+json;");
    line("");
    line("        # Which node owns the key, on every response, errors included.");
    line(&format!(
        "        add_header {NODE_HEADER} $upstream_addr always;"
    ));
    line("");
    line("        # Which configuration answered (a digest of the /_router page below):");
    line("        # after a reload, the old one's workers may still answer for a moment.");
    line(&format!(
        "        add_header {ROUTER_HEADER} {} always;",
        digest(&description(router))
    ));
    line("");
    line("        # Every key goes to the node that owns it.");
    line("        location / {");
    line("            # No URI after the upstream's name: the node gets the request target");
    line("            # exactly as the client sent it, encoding and query included.");
    line("            proxy_pass http://httpdb_nodes;");
    line("");
    line("            # HTTP/1.1 without Connection: close (nginx's default is HTTP/1.0");
    line("            # and close), so connections to the nodes go back to the pool.");
    line("            proxy_http_version 1.1;");
    line("            proxy_set_header Connection \"\";");
    line("");
    line("            # Never retry a request on another node: it does not hold the key.");
    line("            # A failing node's keys fail (502, 504) until it is back.");
    line("            proxy_next_upstream off;");
    line("");
    line("            # Request bodies stream to the node as they arrive (a chunked body");
    line("            # stays chunked) instead of waiting in a temporary file first;");
    line("            # nginx answers Expect: 100-continue itself.");
    line("            proxy_request_buffering off;");
    line("");
    line("            # Responses are read from the node at once, so its worker is free");
    line("            # while a slow client downloads a large value.");
    line("            proxy_buffering on;");
    line("");
    line("            # Location headers reach the client as the node wrote them.");
    line("            proxy_redirect off;");
    if router.pause_writes {
        line("");
        line("            # --pause-writes: reads go on, writes wait while keys move between");
        line("            # nodes (httpdb cluster rebalance). An if that only returns is safe;");
        line("            # its own add_header replaces the server's, so it repeats one.");
        line("            if ($request_method !~ ^(GET|HEAD|OPTIONS)$) {");
        line("                add_header Retry-After 10 always;");
        line(&format!(
            "                add_header {ROUTER_HEADER} {} always;",
            digest(&description(router))
        ));
        line(&format!(
            "                return 503 {};",
            problem(
                503,
                "Service Unavailable",
                "writes are paused while keys move between nodes; try again shortly"
            )
        ));
        line("            }");
    }
    line("        }");
    line("");
    line("        # The router's own page: which nodes it knows and whether writes are");
    line("        # paused. After nginx -s reload, it shows when the new configuration");
    line("        # serves; httpdb cluster rebalance waits for it.");
    line(&format!(
        "        location = {ROUTER_PATH} {{ default_type application/json; return 200 '{}'; }}",
        description(router)
    ));
    line("");
    line("        # A node's listings and figures cover that node only; through the");
    line("        # router they would look complete and hold a part. Refused (403:");
    line("        # understood, not served here), naming the tool that asks every node.");
    line("        # location matches the decoded path, so /%5Fkeys is refused too.");
    for (path, what) in [
        ("/_keys", "lists the keys of one node only"),
        ("/_all", "holds the entries of one node only"),
        ("/_stats", "describes one node only"),
    ] {
        let detail = format!(
            "through the router, {path} {what}: list keys across nodes with httpdb cluster keys --node URL ..., or ask each node"
        );
        line(&format!(
            "        location = {path} {{ return {REFUSED_STATUS} {}; }}",
            problem(REFUSED_STATUS, "Forbidden", &detail)
        ));
    }
    line("");
    line("        # When nginx itself answers for a node, the answer says so in");
    line("        # problem+json; the node's own errors pass through untouched.");
    line("        error_page 502 @node_failed;");
    line("        error_page 504 @node_timed_out;");
    line("        error_page 413 @too_large;");
    line("        location @node_failed {");
    line(&format!(
        "            return 502 {};",
        problem(
            502,
            "Bad Gateway",
            &format!(
                "the node that owns this key ({NODE_HEADER}) did not answer; no other node holds it"
            )
        )
    ));
    line("        }");
    line("        location @node_timed_out {");
    line(&format!(
        "            return 504 {};",
        problem(
            504,
            "Gateway Timeout",
            &format!("the node that owns this key ({NODE_HEADER}) did not answer in time")
        )
    ));
    line("        }");
    line("        location @too_large {");
    line(&format!(
        "            return 413 {};",
        problem(
            413,
            "Content Too Large",
            &format!("a body can be at most {} bytes", router.max_body)
        )
    ));
    line("        }");
    line("    }");
    line("}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(pause_writes: bool) -> Router {
        let defaults = shared_settings(&Flags::default(), &["max-body", "idle-timeout"], &|_| None)
            .expect("the server's defaults");
        Router {
            listen: "127.0.0.1:8080".into(),
            nodes: ["127.0.0.1:6111", "127.0.0.1:6112", "[::1]:6113"]
                .iter()
                .map(|url| Node::parse("--node", url).unwrap())
                .collect(),
            max_body: defaults.server.limits.max_body,
            idle_timeout: defaults.server.idle_timeout,
            pause_writes,
        }
    }

    /// The value of the first directive `name` in `text`.
    fn directive<'t>(text: &'t str, name: &str) -> &'t str {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|rest| rest.strip_suffix(';'))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    }

    fn millis(value: &str) -> u128 {
        value.strip_suffix("ms").expect("in ms").parse().unwrap()
    }

    #[test]
    fn the_nodes_defaults_come_from_the_server() {
        let text = render(&router(false));
        let Ok(crate::config::Command::Run(config)) = crate::config::parse([], |_| None) else {
            panic!("the server's defaults");
        };
        let server = config.server;
        assert_eq!(
            directive(&text, "client_max_body_size"),
            server.limits.max_body.to_string()
        );
        let pool = millis(directive(&text, "keepalive_timeout"));
        assert!(pool > 0 && pool < server.idle_timeout.as_millis());
        assert!(POOL < server.threads, "the pool is far below --threads");
    }

    #[test]
    fn every_node_is_never_marked_down_and_keys_hash_on_the_decoded_path() {
        let text = render(&router(false));
        assert_eq!(directive(&text, "hash"), "$uri consistent");
        for node in ["127.0.0.1:6111", "127.0.0.1:6112", "[::1]:6113"] {
            assert!(
                text.contains(&format!("server {node} max_fails=0;")),
                "{text}"
            );
        }
        assert_eq!(directive(&text, "proxy_next_upstream"), "off");
        assert_eq!(directive(&text, "proxy_pass"), "http://httpdb_nodes");
        assert_eq!(directive(&text, "proxy_http_version"), "1.1");
        assert_eq!(directive(&text, "proxy_set_header Connection"), "\"\"");
        assert_eq!(directive(&text, "proxy_request_buffering"), "off");
        for absent in ["gzip on", "proxy_cache ", "rewrite ", "sub_filter"] {
            assert!(!text.contains(absent), "{absent}");
        }
    }

    #[test]
    fn the_cluster_wide_paths_are_refused_with_a_problem_naming_the_tool() {
        let text = render(&router(false));
        for path in ["/_keys", "/_all", "/_stats"] {
            let line = text
                .lines()
                .find(|line| line.contains(&format!("location = {path} ")))
                .expect("a location");
            let body = line
                .split_once('\'')
                .and_then(|(_, rest)| rest.rsplit_once('\''))
                .map(|(body, _)| body)
                .expect("a quoted body");
            let problem: serde_json::Value = serde_json::from_str(body).expect(body);
            assert_eq!(problem["status"], REFUSED_STATUS);
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("httpdb cluster keys")
            );
        }
    }

    #[test]
    fn digests_are_fnv1a() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(digest(""), "cbf29ce484222325");
        assert_eq!(digest("a"), "af63dc4c8601ec8c");
        assert_ne!(
            digest(&description(&router(true))),
            digest(&description(&router(false)))
        );
    }

    #[test]
    fn the_router_describes_itself() {
        for pause_writes in [false, true] {
            let router = router(pause_writes);
            let text = render(&router);
            let line = text
                .lines()
                .find(|line| line.contains(&format!("location = {ROUTER_PATH} ")))
                .expect("the router's page");
            assert!(line.contains(&format!("'{}'", description(&router))));
            let described: serde_json::Value = serde_json::from_str(&description(&router)).unwrap();
            assert_eq!(described["nodes"][2], "[::1]:6113");
            assert_eq!(
                described["writes"],
                if pause_writes { "paused" } else { "open" }
            );
        }
    }

    #[test]
    fn pausing_writes_adds_one_refusal() {
        let (running, paused) = (render(&router(false)), render(&router(true)));
        assert!(!running.contains("return 503"));
        assert!(paused.contains("if ($request_method !~ ^(GET|HEAD|OPTIONS)$)"));
        assert!(paused.contains("return 503"));
        assert!(paused.contains("--pause-writes\n"));
    }

    /// Every directive stands in a paragraph that opens with a comment.
    #[test]
    fn every_directive_is_explained() {
        for text in [render(&router(false)), render(&router(true))] {
            let mut explained = false;
            for line in text.lines().map(str::trim) {
                if line.is_empty() {
                    explained = false;
                } else if line.starts_with('#') {
                    explained = true;
                } else {
                    assert!(explained, "unexplained: {line}");
                }
            }
        }
    }

    /// README ("Several nodes") prints a configuration into
    /// `router/router.conf` and shows that file: it is what the command
    /// prints.
    #[test]
    fn readme_shows_what_its_command_prints() {
        let readme = include_str!("../../README.md");
        let args: Vec<String> = readme
            .lines()
            .find_map(|line| {
                line.strip_prefix("$ httpdb cluster nginx-conf ")?
                    .strip_suffix(" > router/router.conf")
            })
            .expect("README prints router/router.conf")
            .split(' ')
            .map(str::to_string)
            .collect();
        let shown = readme
            .split_once("```nginx\n")
            .and_then(|(_, rest)| rest.split_once("```\n"))
            .map(|(conf, _)| conf)
            .expect("README shows router/router.conf");
        let mut printed = Vec::new();
        run(&args, &|_| None, &mut printed).expect("README's command runs");
        assert_eq!(String::from_utf8(printed).unwrap(), shown);
    }

    #[test]
    fn the_command_line_asks_for_what_it_needs() {
        let run = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            run(&args, &|_| None, &mut Vec::new())
        };
        for (args, flag) in [
            (&["--node", "http://a:1"][..], "--listen"),
            (&["--listen", "127.0.0.1:80"], "--node"),
            (&["--listen", "nowhere", "--node", "a:1"], "--listen"),
            (
                &["--listen", "a:1", "--node", "b:2", "--max-body", "x"],
                "--max-body",
            ),
            (
                &["--listen", "a:1", "--node", "b:2", "--idle-timeout", "-1"],
                "--idle-timeout",
            ),
        ] {
            match run(args) {
                Err(Failure::Usage(message)) => assert!(message.contains(flag), "{message}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }
}
