//! `httpdb cluster keys`: `/_keys` across nodes, with its semantics.
//!
//! A page of `limit` keys after `after` across the nodes is the first
//! `limit` keys of the union of each node's page with the same parameters:
//! every key of the merged page is among the first `limit` of its own node.
//! So one request per node gives one page, sorted in byte order like a
//! node's, and the last key of a page, passed as `--after`, gives the next.
//! A key found on two nodes (in the middle of a move) is listed once.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use crate::api::listing::{DEFAULT_PAGE, MAX_PAGE};

use super::failure::{Failure, print, usage};
use super::flags::{FlagSpec, Flags, shared_settings};
use super::node::{NodeClient, nodes, query_value, refusal};

const HELP: &str = "\
httpdb cluster keys: list keys across nodes, as GET /_keys does on one node

Usage: httpdb cluster keys --node URL [--node URL ...] [--prefix P] [--limit N] [--after K]

  --node URL     a node, http://HOST:PORT; once per node
  --prefix P     only keys that start with P
  --limit N      at most N keys (default 1000, at most 10000)
  --after K      keys after K: the last key of the previous page
  --token TOKEN  the nodes' token [env: HTTPDB_TOKEN]

Prints one JSON array of keys in byte order.
";

const FLAGS: &[FlagSpec] = &[
    FlagSpec::many("node"),
    FlagSpec::once("prefix"),
    FlagSpec::once("limit"),
    FlagSpec::once("after"),
    FlagSpec::once("token"),
];

/// What to list: `/_keys`'s parameters.
#[derive(Clone, Debug, Default)]
pub struct Page<'a> {
    /// Only keys that start with this.
    pub prefix: &'a str,
    /// Only keys after this one: the last key of the previous page.
    pub after: Option<&'a str>,
    /// At most this many keys.
    pub limit: usize,
}

/// `httpdb cluster keys ARGS`.
pub fn run(
    args: &[String],
    env: &dyn Fn(&str) -> Option<OsString>,
    out: &mut dyn Write,
) -> Result<ExitCode, Failure> {
    let flags = Flags::parse(args, FLAGS, "keys")?;
    if flags.help {
        return print(out, HELP).map(|()| ExitCode::SUCCESS);
    }
    let nodes = nodes(&flags)?;
    let settings = shared_settings(&flags, &["token"], env)?;
    let limit = match flags.value("limit") {
        None => DEFAULT_PAGE,
        Some(value) => value
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_PAGE)
            .ok_or_else(|| {
                usage(format!(
                    "--limit must be a whole number from 0 to {MAX_PAGE}, not '{value}'"
                ))
            })?,
    };
    let page = Page {
        prefix: flags.value("prefix").unwrap_or(""),
        after: flags.value("after"),
        limit,
    };
    let mut clients: Vec<NodeClient> = nodes
        .into_iter()
        .map(|node| NodeClient::new(node, settings.token.as_deref()))
        .collect();
    let keys = across(&mut clients, &page)?;
    let json = serde_json::Value::from(keys).to_string();
    print(out, &format!("{json}\n")).map(|()| ExitCode::SUCCESS)
}

/// One page across every node.
pub fn across(clients: &mut [NodeClient], page: &Page<'_>) -> Result<Vec<String>, Failure> {
    let mut union = BTreeSet::new();
    for client in clients {
        union.extend(on_node(client, page)?);
    }
    Ok(union.into_iter().take(page.limit).collect())
}

/// One page from one node: `GET /_keys?prefix=..&after=..&limit=..`.
pub fn on_node(client: &mut NodeClient, page: &Page<'_>) -> Result<Vec<String>, Failure> {
    let mut target = format!(
        "/_keys?prefix={}&limit={}",
        query_value(page.prefix),
        page.limit
    );
    if let Some(after) = page.after {
        target.push_str("&after=");
        target.push_str(&query_value(after));
    }
    let response = client.exchange("GET", &target, &[], None)?;
    if response.status() != 200 {
        return Err(Failure::Failed(format!(
            "node {} refused to list keys: {}",
            client.node,
            refusal(&response)
        )));
    }
    serde_json::from_slice(&response.body).map_err(|error| {
        Failure::Failed(format!(
            "node {} sent a key listing that is not a JSON array of strings: {error}",
            client.node
        ))
    })
}

/// Every key on one node, page after page.
pub fn all_on_node(client: &mut NodeClient) -> Result<Vec<String>, Failure> {
    let mut keys: Vec<String> = Vec::new();
    loop {
        let page = Page {
            prefix: "",
            after: keys.last().map(String::as_str),
            limit: MAX_PAGE,
        };
        let next = on_node(client, &page)?;
        let done = next.len() < MAX_PAGE;
        keys.extend(next);
        if done {
            return Ok(keys);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_gives_the_page_sizes_of_keys() {
        let limits = format!("(default {DEFAULT_PAGE}, at most {MAX_PAGE})");
        assert!(HELP.contains(&limits), "--help must say {limits}");
    }
}
