//! Nodes as the tools name them and talk to them: `http://HOST:PORT`, one
//! keep-alive connection each ([`crate::client`]), the token on every
//! request, and keys written as request targets.

use std::fmt;
use std::io;
use std::net::{Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::client::{Client, ClientError, Request, Response};

use super::failure::{Failure, usage};
use super::flags::Flags;

/// How long a tool waits for a node to accept a connection, and then for
/// each read and write: long enough for a node under load to answer, short
/// enough that a node that is gone is reported, not waited for.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(30);

/// The `--node` flags, at least one, as nodes.
pub fn nodes(flags: &Flags) -> Result<Vec<Node>, Failure> {
    let nodes = flags
        .values("node")
        .map(|url| Node::parse("--node", url))
        .collect::<Result<Vec<Node>, Failure>>()?;
    if nodes.is_empty() {
        return Err(usage("--node URL is required (once for each node)"));
    }
    Ok(nodes)
}

/// A node (or the router) as named on the command line: `http://HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `HOST:PORT`, as written (nginx hashes this spelling, so it is kept).
    pub authority: String,
}

impl Node {
    /// Reads `http://HOST:PORT`, `http://HOST:PORT/` or `HOST:PORT`. The
    /// name goes into the router's configuration as it stands, bare
    /// (`server`, `listen`) and in a quoted JSON string (`/_router`), so the
    /// host must be a host and no more: a `$` or a quote there would change
    /// the configuration instead of naming a node.
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
        let Some((host, _)) = authority
            .rsplit_once(':')
            .filter(|(_, port)| port.parse::<u16>().is_ok())
        else {
            return Err(bad("expected http://HOST:PORT, with the port"));
        };
        if !is_host(host) {
            return Err(bad(
                "the host must be a name (letters, digits, - . _), an IPv4 address, \
                 or an IPv6 address in brackets",
            ));
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

/// A host name (letters, digits, `-`, `.`, `_`, which covers IPv4
/// addresses) or an IPv6 address in brackets (RFC 3986 §3.2.2): what nginx
/// and the resolver take, and nothing that nginx's configuration syntax or
/// a JSON string would read as more than a name.
fn is_host(host: &str) -> bool {
    match host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(ipv6) => ipv6.parse::<Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        }
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
    /// The node it talks to.
    pub node: Node,
    authorization: Option<String>,
    client: Option<Client>,
}

impl NodeClient {
    /// A client for `node` that sends `token` as a bearer token, if any.
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
            "http://a$b:1",
            "a'b:1",
            "a\"b:1",
            "a b:1",
            "a\\b:1",
            "::1:6113",
            "[::1:6113",
            "[::zz]:6113",
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
}
