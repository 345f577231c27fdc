//! `httpdb cluster rebalance`: after nodes were added to or removed from the
//! router's configuration, move each key to the node the router now names.
//!
//! The router is the only authority on ownership (nginx hashes the nodes'
//! names as written in its configuration), so the tool asks it: a `HEAD`
//! for the key through the router, whose `X-Httpdb-Node` names the owner.
//! Then, for a key that sits elsewhere:
//!
//! 1. `GET` it from the node that holds it: bytes, Content-Type, ETag.
//! 2. `PUT` it on the owner with `If-None-Match: *` (create only, RFC 9110
//!    §13.1.2), so a value already there is never overwritten. If one is
//!    there, it counts as the copy only when its bytes and type are equal
//!    (an earlier run that stopped halfway).
//! 3. Check that the copy's revision is above the old one. The ETag rule
//!    (an ETag never comes back for other bytes of a key) holds across nodes
//!    because a node's revisions follow its clock (`store/revision.rs`);
//!    here that is verified for the key, not assumed. If the owner's clock
//!    is so far behind that the copy's revision is not above the old one,
//!    the copy is removed again and the key stays where it was.
//! 4. `DELETE` it from the old node with `If-Match` the ETag read in step 1,
//!    so a value changed in the meantime is not lost: then the copy is
//!    removed again instead.
//!
//! Each step is safe to repeat, so the whole run is: a second run moves
//! what the first could not, and nothing else. Writes through the router
//! are paused meanwhile (`nginx-conf --pause-writes`), so no client writes
//! a moving key on either node. `nginx -s reload` returns before the new
//! configuration serves, so the tool first waits until the router's own
//! page (`/_router`) says that writes are paused and names only known
//! nodes, and then trusts only answers from that configuration (its
//! `X-Httpdb-Router` digest): workers of the old one may still answer for
//! a moment after a reload, with the old owners.

use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use crate::client::Response;

use super::failure::{Failure, print, usage};
use super::flags::{FlagSpec, Flags, shared_settings};
use super::keys::all_on_node;
use super::nginx_conf::{NODE_HEADER, ROUTER_HEADER, ROUTER_PATH};
use super::node::{Node, NodeClient, key_target, nodes, refusal, revision_of};

const HELP: &str = "\
httpdb cluster rebalance: move each key to the node the router names for it

Usage: httpdb cluster rebalance --router URL --node URL [--node URL ...]

  --router URL    the router, http://HOST:PORT, already configured with the
                  new set of nodes (and with --pause-writes)
  --node URL      every node that may hold keys, old and new; once per node
  --token TOKEN   the nodes' token [env: HTTPDB_TOKEN]
  --wait SECONDS  how long to wait for the router to serve a configuration
                  that pauses writes (after nginx -s reload) [default: 10]

Copies each key create-only to its owner, then deletes it from the old node
only if unchanged. Safe to run again. Prints every key moved or not moved;
exits with 0 when every key sits with its owner, 1 when some could not be
moved (nothing is overwritten, nothing deleted that was not copied).
";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::once("router"),
    FlagSpec::many("node"),
    FlagSpec::once("token"),
    FlagSpec::once("wait"),
];

/// How long to wait for the router to serve its new configuration, unless
/// `--wait` says otherwise: a reload takes milliseconds.
const DEFAULT_WAIT: Duration = Duration::from_secs(10);

/// What happened to one key that sat on another node than its owner.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Moved,
    /// It was deleted before it could be copied: nothing to move.
    Gone,
    NotMoved(String),
}

/// The counts printed at the end.
#[derive(Debug, Default)]
struct Tally {
    moved: usize,
    in_place: usize,
    gone: usize,
    not_moved: usize,
}

/// `httpdb cluster rebalance ARGS`.
pub fn run(
    args: &[String],
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    let flags = Flags::parse(args, FLAGS, "rebalance")?;
    if flags.help {
        return print(out, HELP).map(|()| ExitCode::SUCCESS);
    }
    let router = flags
        .value("router")
        .ok_or_else(|| usage("--router URL is required"))?;
    let router = Node::parse("--router", router)?;
    let nodes = nodes(&flags)?;
    let token = shared_settings(&flags, &["token"], env)?.token;
    let wait = match flags.value("wait") {
        None => DEFAULT_WAIT,
        Some(value) => value
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .ok_or_else(|| usage(format!("--wait: expected seconds, got '{value}'")))?,
    };

    let mut addresses: Vec<Vec<SocketAddr>> = Vec::new();
    for node in &nodes {
        let resolved = node.addresses()?;
        if addresses
            .iter()
            .flatten()
            .any(|addr| resolved.contains(addr))
        {
            return Err(usage(format!("--node {node} is given twice")));
        }
        addresses.push(resolved);
    }
    let mut router = NodeClient::new(router, token.as_deref());
    let mut nodes: Vec<NodeClient> = nodes
        .into_iter()
        .map(|node| NodeClient::new(node, token.as_deref()))
        .collect();

    let configuration = wait_for_router(&mut router, &addresses, wait)?;
    let lookup = Lookup {
        addresses: &addresses,
        configuration: &configuration,
        wait,
    };

    // Where every key is now, before anything moves.
    let mut found: Vec<(String, usize)> = Vec::new();
    for (index, node) in nodes.iter_mut().enumerate() {
        found.extend(all_on_node(node)?.into_iter().map(|key| (key, index)));
    }

    let mut tally = Tally::default();
    for (key, from) in found {
        let quoted = serde_json::Value::from(key.as_str());
        let outcome = match lookup.owner_of(&mut router, &key)? {
            Ok(to) if to == from => {
                tally.in_place += 1;
                continue;
            }
            Ok(to) => {
                let (source, owner) = two(&mut nodes, from, to);
                let outcome = move_key(&key, source, owner);
                (outcome, Some(to))
            }
            Err(why) => (Outcome::NotMoved(why), None),
        };
        let (from, to) = (
            &nodes[from].node,
            outcome
                .1
                .map_or("?".to_string(), |to| nodes[to].node.to_string()),
        );
        match outcome.0 {
            Outcome::Moved => {
                tally.moved += 1;
                print(out, &format!("moved {quoted} from {from} to {to}\n"))?;
            }
            Outcome::Gone => tally.gone += 1,
            Outcome::NotMoved(why) => {
                tally.not_moved += 1;
                print(
                    out,
                    &format!("not moved {quoted} from {from} to {to}: {why}\n"),
                )?;
            }
        }
    }
    let mut summary = format!(
        "{} moved, {} left in place, {} not moved",
        tally.moved, tally.in_place, tally.not_moved
    );
    if tally.gone > 0 {
        summary.push_str(&format!(", {} deleted meanwhile", tally.gone));
    }
    print(out, &format!("{summary}\n"))?;
    Ok(if tally.not_moved == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Waits until the router serves a configuration that pauses writes and
/// sends keys only to known nodes, asking its `/_router` page on a new
/// connection each time (an old nginx worker may still hold the last one).
/// Returns that configuration's digest.
fn wait_for_router(
    router: &mut NodeClient,
    addresses: &[Vec<SocketAddr>],
    wait: Duration,
) -> Result<String, Failure> {
    let deadline = Instant::now() + wait;
    loop {
        router.close();
        let why = match router_is_ready(router, addresses)? {
            Ok(configuration) => return Ok(configuration),
            Err(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(Failure::Failed(format!("router {}: {why}", router.node)));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the router's `/_router` page says writes are paused and names
/// only known nodes: its digest if so, why not if not.
fn router_is_ready(
    router: &mut NodeClient,
    addresses: &[Vec<SocketAddr>],
) -> Result<Result<String, String>, Failure> {
    let response = router.exchange("GET", ROUTER_PATH, &[], None)?;
    let described = (response.status() == 200)
        .then(|| serde_json::from_slice::<serde_json::Value>(&response.body).ok())
        .flatten();
    let configuration = response.header(ROUTER_HEADER).map(str::to_string);
    let (Some(described), Some(configuration)) = (described, configuration) else {
        return Ok(Err(format!(
            "GET {ROUTER_PATH} answered {}: not a router printed by httpdb cluster nginx-conf",
            refusal(&response)
        )));
    };
    if described["writes"] != "paused" {
        return Ok(Err(
            "writes are not paused: print its configuration with nginx-conf --pause-writes \
             and reload nginx (-s reload) first"
                .into(),
        ));
    }
    let named = described["nodes"].as_array().cloned().unwrap_or_default();
    for node in named.iter().filter_map(serde_json::Value::as_str) {
        let known = Node::parse(ROUTER_PATH, node)
            .and_then(|node| node.addresses())
            .is_ok_and(|resolved| {
                resolved
                    .iter()
                    .any(|addr| addresses.iter().flatten().any(|known| known == addr))
            });
        if !known {
            return Ok(Err(format!(
                "it sends keys to {node}, which is not a --node"
            )));
        }
    }
    Ok(Ok(configuration))
}

/// Two different nodes, both to change.
fn two(nodes: &mut [NodeClient], a: usize, b: usize) -> (&mut NodeClient, &mut NodeClient) {
    if a < b {
        let (left, right) = nodes.split_at_mut(b);
        (&mut left[a], &mut right[0])
    } else {
        let (left, right) = nodes.split_at_mut(a);
        (&mut right[0], &mut left[b])
    }
}

/// How owners are looked up: through the router, trusting only answers of
/// the configuration the run started with.
struct Lookup<'a> {
    addresses: &'a [Vec<SocketAddr>],
    configuration: &'a str,
    wait: Duration,
}

impl Lookup<'_> {
    /// Which of the nodes the router sends `key` to. The outer error is the
    /// router failing (the run stops); the inner one is about this key.
    fn owner_of(
        &self,
        router: &mut NodeClient,
        key: &str,
    ) -> Result<Result<usize, String>, Failure> {
        let deadline = Instant::now() + self.wait;
        let response = loop {
            let response = router.exchange("HEAD", &key_target(key), &[], None)?;
            if response.header(ROUTER_HEADER) == Some(self.configuration) {
                break response;
            }
            // A worker of another configuration answered: ask again on a
            // new connection, which a current worker takes.
            router.close();
            if Instant::now() >= deadline {
                return Err(Failure::Failed(format!(
                    "router {} answers with another configuration than its {ROUTER_PATH} \
                     page showed; run again",
                    router.node
                )));
            }
            thread::sleep(Duration::from_millis(50));
        };
        let Some(named) = response.header(NODE_HEADER) else {
            return Ok(Err(format!(
                "the router named no node ({} {}, no {NODE_HEADER})",
                response.status(),
                response.reason()
            )));
        };
        // `$upstream_addr` lists every address tried, separated by ", " (and
        // " : " across internal redirects); the last one answered.
        let last = named
            .rsplit(", ")
            .next()
            .and_then(|addr| addr.rsplit(" : ").next());
        let Some(addr) = last.and_then(|addr| addr.trim().parse::<SocketAddr>().ok()) else {
            return Ok(Err(format!("the router named '{named}', not an address")));
        };
        Ok(self
            .addresses
            .iter()
            .position(|node| node.contains(&addr))
            .ok_or_else(|| format!("the router sends it to {addr}, which is not a --node")))
    }
}

/// Steps 1 to 4 of the module's description for one key.
fn move_key(key: &str, source: &mut NodeClient, owner: &mut NodeClient) -> Outcome {
    match try_move(key, source, owner) {
        Ok(outcome) => outcome,
        Err(failure) => Outcome::NotMoved(failure.to_string()),
    }
}

fn try_move(
    key: &str,
    source: &mut NodeClient,
    owner: &mut NodeClient,
) -> Result<Outcome, Failure> {
    let target = key_target(key);
    let original = source.exchange("GET", &target, &[], None)?;
    match original.status() {
        200 => {}
        404 => return Ok(Outcome::Gone),
        _ => {
            return Ok(Outcome::NotMoved(format!(
                "reading it failed: {}",
                refusal(&original)
            )));
        }
    }
    let Some(old) = revision_of(&original) else {
        return Ok(Outcome::NotMoved("the old node gave no ETag".into()));
    };
    let content_type = original
        .header("content-type")
        .unwrap_or("application/octet-stream");

    let copy = owner.exchange(
        "PUT",
        &target,
        &[("Content-Type", content_type), ("If-None-Match", "*")],
        Some(&original.body),
    )?;
    let (new, created) = match copy.status() {
        201 => match revision_of(&copy) {
            Some(new) => (new, true),
            None => return Ok(Outcome::NotMoved("the owner gave the copy no ETag".into())),
        },
        412 => {
            let there = owner.exchange("GET", &target, &[], None)?;
            match revision_of(&there) {
                Some(new) if there.status() == 200 && same_value(&there, &original) => (new, false),
                _ if there.status() == 200 => {
                    return Ok(Outcome::NotMoved(format!(
                        "the owner already holds a different value (ETag {}); nothing was \
                         overwritten, the key stays on the old node",
                        there.header("etag").unwrap_or("none")
                    )));
                }
                _ => {
                    return Ok(Outcome::NotMoved(format!(
                        "it changed on the owner during the move: {}",
                        refusal(&there)
                    )));
                }
            }
        }
        _ => {
            return Ok(Outcome::NotMoved(format!(
                "the owner refused the copy: {}",
                refusal(&copy)
            )));
        }
    };

    let why = if new <= old {
        format!(
            "the copy's ETag \"{new}\" is not above the old \"{old}\": the owner's clock is \
             behind the old node's; set the clocks right and run again"
        )
    } else {
        let old_etag = format!("\"{old}\"");
        let deleted = source.exchange("DELETE", &target, &[("If-Match", &old_etag)], None)?;
        match deleted.status() {
            204 => return Ok(Outcome::Moved),
            412 | 404 => "it changed on the old node during the move".to_string(),
            _ => format!(
                "deleting it from the old node failed: {}",
                refusal(&deleted)
            ),
        }
    };
    Ok(Outcome::NotMoved(if created {
        undo_copy(owner, &target, new, why)
    } else {
        why
    }))
}

/// Removes the copy this run made, if it is still as made.
fn undo_copy(owner: &mut NodeClient, target: &str, new: u64, why: String) -> String {
    let etag = format!("\"{new}\"");
    match owner.exchange("DELETE", target, &[("If-Match", &etag)], None) {
        Ok(response) if response.status() == 204 => format!("{why}; the copy was removed"),
        Ok(response) => format!("{why}; the copy stays: {}", refusal(&response)),
        Err(failure) => format!("{why}; the copy stays: {failure}"),
    }
}

/// Whether two responses carry the same value: bytes and Content-Type.
fn same_value(a: &Response, b: &Response) -> bool {
    a.body == b.body && a.header("content-type") == b.header("content-type")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    #[test]
    fn help_gives_the_default_wait() {
        let wait = format!("[default: {}]", DEFAULT_WAIT.as_secs());
        assert!(HELP.contains(&wait), "--help must say {wait}");
    }

    /// A node that answers its requests, in order, from a script, and
    /// keeps each request's line and conditional fields: the steps of a
    /// move that a real cluster cannot be made to take on cue.
    fn scripted(answers: &[&str]) -> (NodeClient, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (log, answers) = (Arc::clone(&seen), answers.join("\u{0}"));
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut stream = stream;
            for answer in answers.split('\u{0}') {
                let mut request = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end().to_string();
                    if line.is_empty() {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length: ") {
                        length = value.parse().unwrap();
                    }
                    if request.is_empty() || lower.starts_with("if-") {
                        request.push_str(&line);
                        request.push(' ');
                    }
                }
                reader.read_exact(&mut vec![0; length]).unwrap();
                log.lock().unwrap().push(request.trim_end().to_string());
                std::io::Write::write_all(&mut stream, answer.as_bytes()).unwrap();
            }
        });
        let node = Node::parse("--node", &addr.to_string()).unwrap();
        (NodeClient::new(node, None), seen)
    }

    const VALUE_AT_5: &str =
        "HTTP/1.1 200 OK\r\nETag: \"5\"\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx";
    const CREATED_AT_9: &str = "HTTP/1.1 201 Created\r\nETag: \"9\"\r\nContent-Length: 0\r\n\r\n";
    const DELETED: &str = "HTTP/1.1 204 No Content\r\n\r\n";
    const CHANGED: &str = "HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n";

    fn seen(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
        log.lock().unwrap().clone()
    }

    #[test]
    fn a_move_copies_create_only_then_deletes_only_what_it_copied() {
        let (mut source, source_saw) = scripted(&[VALUE_AT_5, DELETED]);
        let (mut owner, owner_saw) = scripted(&[CREATED_AT_9]);
        assert_eq!(move_key("/k", &mut source, &mut owner), Outcome::Moved);
        assert_eq!(
            seen(&source_saw),
            ["GET /k HTTP/1.1", "DELETE /k HTTP/1.1 If-Match: \"5\""]
        );
        assert_eq!(seen(&owner_saw), ["PUT /k HTTP/1.1 If-None-Match: *"]);
    }

    #[test]
    fn a_key_changed_on_its_old_node_meanwhile_stays_there_and_the_copy_goes() {
        let (mut source, _) = scripted(&[VALUE_AT_5, CHANGED]);
        let (mut owner, owner_saw) = scripted(&[CREATED_AT_9, DELETED]);
        let Outcome::NotMoved(why) = move_key("/k", &mut source, &mut owner) else {
            panic!("not moved");
        };
        assert!(why.contains("changed on the old node"), "{why}");
        assert!(why.ends_with("the copy was removed"), "{why}");
        assert_eq!(
            seen(&owner_saw),
            [
                "PUT /k HTTP/1.1 If-None-Match: *",
                "DELETE /k HTTP/1.1 If-Match: \"9\""
            ]
        );
    }

    #[test]
    fn a_copy_whose_revision_is_not_above_the_old_one_is_removed_again() {
        let at_50 = VALUE_AT_5.replace("\"5\"", "\"50\"");
        let (mut source, source_saw) = scripted(&[&at_50]);
        let (mut owner, owner_saw) = scripted(&[CREATED_AT_9, DELETED]);
        let Outcome::NotMoved(why) = move_key("/k", &mut source, &mut owner) else {
            panic!("not moved");
        };
        assert!(why.contains("clock"), "{why}");
        assert_eq!(seen(&source_saw), ["GET /k HTTP/1.1"], "nothing deleted");
        assert_eq!(seen(&owner_saw).len(), 2, "the copy was removed");
    }

    #[test]
    fn a_different_value_on_the_owner_is_never_overwritten() {
        let (mut source, source_saw) = scripted(&[VALUE_AT_5]);
        let other = VALUE_AT_5
            .replace("\"5\"", "\"7\"")
            .replace("\r\n\r\nx", "\r\n\r\ny");
        let (mut owner, owner_saw) = scripted(&[CHANGED, &other]);
        let Outcome::NotMoved(why) = move_key("/k", &mut source, &mut owner) else {
            panic!("not moved");
        };
        assert!(why.contains("different value"), "{why}");
        assert_eq!(seen(&source_saw), ["GET /k HTTP/1.1"]);
        assert_eq!(
            seen(&owner_saw),
            ["PUT /k HTTP/1.1 If-None-Match: *", "GET /k HTTP/1.1"]
        );
    }
}
