//! Several real httpdb nodes behind a real nginx, on loopback: the router
//! that `httpdb cluster nginx-conf` prints, and the `keys` and `rebalance`
//! tools, used as a user would (README, "Several nodes").
//!
//! Each test starts its own nodes (the binary, `tests/common/process.rs`)
//! and its own nginx (`nginx -p DIR -c FILE -g 'daemon off;'`, as the
//! README runs it), and stops them by PID. nginx must be installed: a test
//! without it fails and says how to install it (`.ci/test` does).
//!
//! Every node requires a token, so every request here, and every tool run,
//! proves that `--token` works through the router.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::PATIENCE;
use common::process::Process;
use common::temp::TempDir;
use httpdb::client::{Client, Request, Response};

const TOKEN: &str = "cluster-s3cret";
const BEARER: &str = "Bearer cluster-s3cret";

/// One httpdb node: the binary on its own data directory.
struct Node {
    process: Process,
    dir: PathBuf,
}

impl Node {
    /// Starts a node on `port` (0: any free port) over `dir`.
    fn start(dir: &Path, port: u16) -> Node {
        let mut command = Process::command();
        command
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir)
            // Few workers: a node here serves a handful of connections.
            // `--fsync never` still survives kill -9 (the OS has the data);
            // durability itself is tests/durability.rs's subject.
            .args(["--threads", "8", "--fsync", "never", "--quiet"])
            .args(["--token", TOKEN]);
        Node {
            process: Process::start(command),
            dir: dir.to_path_buf(),
        }
    }

    fn addr(&self) -> &str {
        &self.process.addr
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    fn port(&self) -> u16 {
        self.addr()
            .parse::<SocketAddr>()
            .expect("an address")
            .port()
    }

    /// `kill -9`: what is left is where to start it again.
    fn kill_9(self) -> Stopped {
        let stopped = Stopped {
            port: self.port(),
            dir: self.dir.clone(),
        };
        let _ = self.process.kill_9();
        stopped
    }
}

/// A node that was killed: its port and its data.
struct Stopped {
    port: u16,
    dir: PathBuf,
}

impl Stopped {
    /// The same node again: same port (so the same name to nginx), same data.
    fn restart(self) -> Node {
        Node::start(&self.dir, self.port)
    }
}

/// nginx running the configuration that `httpdb cluster nginx-conf` printed.
struct Router {
    child: Child,
    /// nginx's prefix (-p): its configuration, PID file, logs and temp
    /// files. Dropped after nginx has stopped, which needs the PID file.
    prefix: TempDir,
    conf: PathBuf,
    port: u16,
    stderr: mpsc::Receiver<String>,
}

impl Router {
    /// A router for `nodes` on a free port.
    ///
    /// nginx cannot report a port it picked itself, so the test picks one:
    /// bind 127.0.0.1:0, read the port the kernel chose, release it, and hand
    /// it to nginx. Another process may take it in between; then nginx fails
    /// to bind, and another port is tried.
    fn start(nodes: &[&Node], pause_writes: bool) -> Router {
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            match Router::try_start(nodes, pause_writes, port) {
                Ok(router) => return router,
                Err(error) if error.contains("Address already in use") => last_error = error,
                Err(error) => panic!("nginx did not start: {error}"),
            }
        }
        panic!("nginx found no free port in 5 tries: {last_error}");
    }

    /// Loads a new configuration, as the README does: `nginx -s reload`.
    /// That returns before the new configuration serves, and the old
    /// workers may still take a connection for a moment, so this waits
    /// (observing, until a deadline) until every worker of the master is a
    /// new one: then every answer comes from the new configuration.
    fn reload(&self, nodes: &[&Node], pause_writes: bool) {
        write_configuration(&self.conf, self.port, nodes, pause_writes);
        let old = self.workers();
        assert!(!old.is_empty(), "nginx has workers");
        assert!(self.signal("reload"), "nginx -s reload failed");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let now = self.workers();
            if !now.is_empty() && now.is_disjoint(&old) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "old workers {old:?} remain: {now:?}"
            );
            // The next look, a moment later.
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// The master's child processes: its workers (Linux's /proc).
    fn workers(&self) -> BTreeSet<u32> {
        let pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .expect("the master's children")
            .split_whitespace()
            .map(|child| child.parse().expect("a PID"))
            .collect()
    }

    /// `nginx -s SIGNAL`: nginx reads the master's PID from the PID file
    /// under the prefix and signals it.
    fn signal(&self, signal: &str) -> bool {
        Command::new("nginx")
            .arg("-p")
            .arg(&self.prefix.0)
            .arg("-c")
            .arg(&self.conf)
            .args(["-s", signal])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn try_start(nodes: &[&Node], pause_writes: bool, port: u16) -> Result<Router, String> {
        let prefix = TempDir::new("router");
        let dir = &prefix.0;
        let conf = dir.join("router.conf");
        write_configuration(&conf, port, nodes, pause_writes);
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run nginx ({error}). The cluster tests need it: run .ci/test, \
                     which installs it, or: sudo apt-get install nginx"
                )
            });
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        let mut router = Router {
            child,
            prefix,
            conf,
            port,
            stderr,
        };
        router.wait_until_ready()?;
        Ok(router)
    }

    /// Waits until this nginx answers, by observing it: connection attempts
    /// until a deadline, and nginx exiting (a failed start) ends the wait
    /// with its error. Ready means it refuses `/_keys` with the router's
    /// 403: the port is ours, and a worker is serving.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if TcpStream::connect(self.addr()).is_ok() {
                let response = self.get("/_keys");
                if response.status() == 403 {
                    return Ok(());
                }
                return Err(format!("port {} answered {response:?}", self.port));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // It exited: its stderr is complete.
                let errors: Vec<String> = self.stderr.iter().collect();
                return Err(format!("nginx exited ({status}): {}", errors.join(" / ")));
            }
            if Instant::now() > deadline {
                return Err(format!("nginx did not listen within {PATIENCE:?}"));
            }
            // Not a wait for time to pass: the next attempt, a moment later.
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    fn get(&self, target: &str) -> Response {
        call(&self.addr(), "GET", target, &[], None)
    }
}

impl Drop for Router {
    /// Stops nginx by its PID file (`nginx -s stop`, a signal to the master,
    /// which stops its workers and exits) and waits for the master to exit.
    fn drop(&mut self) {
        let stopped = self.signal("stop");
        let deadline = Instant::now() + PATIENCE;
        while stopped && Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        // Last resort, and it leaves the workers behind: say so.
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!(
            "nginx (pid {}) did not stop; killed its master",
            self.child.id()
        );
    }
}

/// Writes the configuration `httpdb cluster nginx-conf` prints for `nodes`.
fn write_configuration(conf: &Path, port: u16, nodes: &[&Node], pause_writes: bool) {
    let mut args = vec![
        "cluster".to_string(),
        "nginx-conf".to_string(),
        "--listen".to_string(),
        format!("127.0.0.1:{port}"),
    ];
    for node in nodes {
        args.push("--node".into());
        args.push(node.url());
    }
    if pause_writes {
        args.push("--pause-writes".into());
    }
    let output = httpdb(&args, &[]);
    assert!(output.status.success(), "nginx-conf: {output:?}");
    std::fs::write(conf, &output.stdout).expect("write the configuration");
}

/// The lines of a pipe, read on a thread of their own.
fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in io::BufReader::new(pipe).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Runs `httpdb ARGS` to completion.
fn httpdb(args: &[String], env: &[(&str, &str)]) -> Output {
    Process::command()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run httpdb")
}

/// One request with the token, on a connection of its own.
fn call(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut client = Client::connect(addr, PATIENCE).expect("connect");
    let mut request = Request::new(method, target)
        .header("Authorization", BEARER)
        .headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    client
        .exchange(&request)
        .unwrap_or_else(|error| panic!("{method} {target} on {addr}: {error}"))
}

fn put(addr: &str, target: &str, value: &[u8]) -> Response {
    call(
        addr,
        "PUT",
        target,
        &[("Content-Type", "text/plain")],
        Some(value),
    )
}

/// The node that answered, as the router names it.
fn owner(response: &Response) -> &str {
    response
        .header("x-httpdb-node")
        .unwrap_or_else(|| panic!("no X-Httpdb-Node: {response:?}"))
}

fn etag(response: &Response) -> String {
    response
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag: {response:?}"))
        .to_string()
}

fn revision(etag: &str) -> u64 {
    etag.trim_matches('"').parse().expect("a numeric ETag")
}

/// Three (or `n`) nodes and their router.
struct Cluster {
    nodes: Vec<Node>,
    router: Router,
    dir: TempDir,
}

impl Cluster {
    fn start(name: &str, n: usize) -> Cluster {
        let dir = TempDir::new(name);
        let nodes: Vec<Node> = (0..n)
            .map(|i| Node::start(&dir.0.join(format!("node{i}")), 0))
            .collect();
        let router = Router::start(&nodes.iter().collect::<Vec<_>>(), false);
        Cluster { nodes, router, dir }
    }

    /// Which nodes hold `key` (asked directly, not through the router).
    fn holders(&self, key: &str) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|node| call(node.addr(), "GET", key, &[], None).status() == 200)
            .map(|node| node.addr().to_string())
            .collect()
    }

    fn node_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .flat_map(|node| ["--node".to_string(), node.url()])
            .collect()
    }
}

#[test]
fn keys_spread_over_the_nodes_each_on_exactly_the_node_its_header_names() {
    let cluster = Cluster::start("spread", 3);
    let router = cluster.router.addr();
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..60 {
        let key = format!("/spread/{i}");
        let written = put(&router, &key, format!("value {i}").as_bytes());
        assert_eq!(written.status(), 201, "{written:?}");
        let named = owner(&written).to_string();
        assert_eq!(cluster.holders(&key), [named.as_str()], "{key}");
        // The ETag through the router is the node's own.
        let direct = call(&named, "GET", &key, &[], None);
        assert_eq!(etag(&direct), etag(&written));
        let read = call(&router, "GET", &key, &[], None);
        assert_eq!((owner(&read), etag(&read)), (named.as_str(), etag(&direct)));
        assert_eq!(read.body, direct.body);
        *per_node.entry(named).or_default() += 1;
    }
    assert_eq!(per_node.len(), 3, "every node got keys: {per_node:?}");
}

#[test]
fn one_key_reaches_one_node_whatever_its_encoding_or_query() {
    let cluster = Cluster::start("spelling", 3);
    let router = cluster.router.addr();
    // Keys and other spellings of them that a node decodes to the same key.
    let spellings: &[(&str, &[&str])] = &[
        (
            "/caf%C3%A9/a%20b",
            &[
                "/caf%c3%a9/a%20b",
                "/%63af%C3%A9%2Fa%20b",
                "/caf%C3%A9/a%20b?x=1&y",
            ],
        ),
        ("/users/42", &["/users%2F42", "/%75sers/42?", "/users/4%32"]),
        ("/a+b", &["/a%2Bb", "/a+b?q=/x", "/%61%2b%62"]),
        ("/x/y/z", &["/x%2Fy%2Fz", "/x/y/z?z=1", "/%78/%79/%7A"]),
        ("/n0", &["/%6E0", "/n%30?a", "/n0?b"]),
    ];
    for (key, others) in spellings {
        let written = put(&router, key, key.as_bytes());
        assert_eq!(written.status(), 201, "{key}: {written:?}");
        for other in *others {
            let read = call(&router, "GET", other, &[], None);
            assert_eq!(read.status(), 200, "{other} is {key}: {read:?}");
            assert_eq!(
                owner(&read),
                owner(&written),
                "{other} reaches {key}'s node"
            );
            assert_eq!(etag(&read), etag(&written));
            assert_eq!(read.body, key.as_bytes());
        }
    }
}

#[test]
fn large_chunked_and_100_continue_bodies_arrive_byte_exact() {
    let cluster = Cluster::start("bodies", 3);
    let router = cluster.router.addr();
    // 5 MiB holding every byte value, in an order no compressor would like.
    let mut noise = 0x9E37_79B9_7F4A_7C15_u64;
    let value: Vec<u8> = (0..5 << 20)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            noise as u8
        })
        .collect();
    let written = call(
        &router,
        "PUT",
        "/big",
        &[("Content-Type", "application/octet-stream")],
        Some(&value),
    );
    assert_eq!(written.status(), 201, "{written:?}");

    // Chunked: nginx streams it to the node (proxy_request_buffering off).
    let mut client = Client::connect(&router, PATIENCE).expect("connect");
    let mut raw = format!(
        "PUT /chunked HTTP/1.1\r\nHost: r\r\nAuthorization: {BEARER}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in value[..300_000].chunks(65_000) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    client.send_raw(&raw).expect("send");
    let chunked = client.read_response(false).expect("a response");
    assert_eq!(chunked.status(), 201, "{chunked:?}");

    // Expect: 100-continue: nginx says 100 Continue, then takes the body.
    let mut client = Client::connect(&router, PATIENCE).expect("connect");
    let head = format!(
        "PUT /continued HTTP/1.1\r\nHost: r\r\nAuthorization: {BEARER}\r\n\
         Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"
    );
    client.send_raw(head.as_bytes()).expect("send the head");
    let interim = client.read_response(false).expect("an interim response");
    assert_eq!(interim.status(), 100, "{interim:?}");
    client.send_raw(&value[..1_000_000]).expect("send the body");
    let continued = client.read_response(false).expect("a response");
    assert_eq!(continued.status(), 201, "{continued:?}");

    for (key, expected, response) in [
        ("/big", &value[..], &written),
        ("/chunked", &value[..300_000], &chunked),
        ("/continued", &value[..1_000_000], &continued),
    ] {
        let through = call(&router, "GET", key, &[], None);
        assert!(
            through.body == expected,
            "{key}: {} bytes",
            through.body.len()
        );
        let direct = call(owner(response), "GET", key, &[], None);
        assert!(direct.body == expected, "{key} on its node");
        assert_eq!(etag(&through), etag(&direct));
    }
}

/// A compare-and-swap conversation about `key` at `addr`: the statuses.
fn conditional_conversation(addr: &str, key: &str) -> Vec<u16> {
    let first = put(addr, key, b"one");
    let e1 = etag(&first);
    let mut statuses = vec![first.status()];
    let mut ask = |method: &str, headers: &[(&str, &str)], body: Option<&[u8]>| {
        let response = call(addr, method, key, headers, body);
        statuses.push(response.status());
        response
    };
    let cached = ask("GET", &[("If-None-Match", &e1)], None);
    assert_eq!(cached.header("etag"), Some(e1.as_str()));
    // An ETag this key never had: one below its first revision.
    let never = format!("\"{}\"", revision(&e1) - 1);
    ask("PUT", &[("If-Match", &never)], Some(b"lost update"));
    let replaced = ask("PUT", &[("If-Match", &e1)], Some(b"two"));
    let e2 = etag(&replaced);
    assert!(revision(&e2) > revision(&e1));
    ask("PUT", &[("If-None-Match", "*")], Some(b"create only"));
    ask("GET", &[("If-None-Match", &e1)], None);
    ask("DELETE", &[("If-Match", &e1)], None);
    ask("DELETE", &[("If-Match", &e2)], None);
    ask("PUT", &[("If-None-Match", "*")], Some(b"created"));
    statuses
}

#[test]
fn etags_and_conditional_requests_behave_through_the_router_as_on_one_node() {
    let cluster = Cluster::start("conditional", 3);
    let through = conditional_conversation(&cluster.router.addr(), "/cas");
    let direct = conditional_conversation(cluster.nodes[0].addr(), "/cas-direct");
    assert_eq!(through, [201, 304, 412, 200, 412, 200, 412, 204, 201]);
    assert_eq!(through, direct);
}

#[test]
fn a_killed_node_fails_its_keys_and_its_restart_brings_them_back() {
    let cluster = Cluster::start("killed", 3);
    let router = cluster.router.addr();
    let mut etags: BTreeMap<String, (String, String)> = BTreeMap::new();
    for i in 0..30 {
        let key = format!("/k{i}");
        let written = put(&router, &key, key.as_bytes());
        etags.insert(key, (owner(&written).to_string(), etag(&written)));
    }
    let victim = etags.values().next().expect("keys").0.clone();
    let Cluster {
        mut nodes,
        router: _router,
        dir: _dir,
    } = cluster;
    let index = nodes
        .iter()
        .position(|node| node.addr() == victim)
        .expect("the owner is a node");
    let stopped = nodes.swap_remove(index).kill_9();

    for (key, (node, _)) in &etags {
        let read = call(&router, "GET", key, &[], None);
        if *node == victim {
            assert_eq!(read.status(), 502, "{key}: {read:?}");
            assert_eq!(owner(&read), victim);
            assert_eq!(
                read.header("content-type"),
                Some("application/problem+json")
            );
        } else {
            assert_eq!(read.status(), 200, "{key} is on a live node");
        }
    }
    // A write of a new key the stopped node owns fails, and lands nowhere.
    let homeless = (0..200)
        .map(|i| format!("/new{i}"))
        .find(|key| {
            let written = put(&router, key, b"lost?");
            assert!(matches!(written.status(), 201 | 502), "{written:?}");
            written.status() == 502 && owner(&written) == victim
        })
        .expect("one of 200 new keys belongs to the stopped node");
    for node in &nodes {
        let read = call(node.addr(), "GET", &homeless, &[], None);
        assert_eq!(read.status(), 404, "{homeless} is not on {}", node.addr());
    }

    nodes.push(stopped.restart());
    for (key, (node, etag_before)) in &etags {
        let read = call(&router, "GET", key, &[], None);
        assert_eq!(read.status(), 200, "{key}: {read:?}");
        assert_eq!((owner(&read), &etag(&read)), (node.as_str(), etag_before));
    }
}

#[test]
fn cluster_wide_paths_are_refused_at_the_router_naming_the_tool() {
    let cluster = Cluster::start("refused", 3);
    let router = cluster.router.addr();
    for target in [
        "/_keys",
        "/_all",
        "/_stats",
        "/%5Fkeys",
        "/_st%61ts",
        "/_keys?prefix=/a&limit=5",
        "/_all?",
    ] {
        for method in ["GET", "HEAD"] {
            let response = call(&router, method, target, &[], None);
            assert_eq!(response.status(), 403, "{method} {target}: {response:?}");
            assert_eq!(
                response.header("content-type"),
                Some("application/problem+json")
            );
            if method == "GET" {
                let problem: serde_json::Value =
                    serde_json::from_slice(&response.body).expect("problem+json");
                assert_eq!(problem["status"], 403);
                let detail = problem["detail"].as_str().expect("a detail");
                assert!(detail.contains("httpdb cluster keys"), "{detail}");
            }
        }
    }
    // `//_keys` is a key on a node, not its listing: the router does not
    // merge the slashes, so it passes through.
    let key = put(&router, "//_keys", b"a key");
    assert_eq!(key.status(), 201, "{key:?}");
    // A node's other paths pass through, and so does its refusal of a
    // request without the token.
    let mut client = Client::connect(&router, PATIENCE).expect("connect");
    let anonymous = client
        .exchange(&Request::new("GET", "/k"))
        .expect("a response");
    assert_eq!(anonymous.status(), 401, "{anonymous:?}");
    assert!(anonymous.header("www-authenticate").is_some());
    assert!(anonymous.header("x-httpdb-node").is_some());
}

/// `/_keys` of one node, all of it.
fn node_keys(node: &Node) -> Vec<String> {
    let response = call(node.addr(), "GET", "/_keys?limit=10000", &[], None);
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.body).expect("a JSON array")
}

fn cluster_keys(cluster: &Cluster, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["cluster".to_string(), "keys".to_string()];
    args.extend(cluster.node_urls());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    httpdb(&args, env)
}

#[test]
fn cluster_keys_pages_chain_over_the_union_of_the_nodes() {
    let cluster = Cluster::start("keys", 3);
    let router = cluster.router.addr();
    // Targets whose keys need encoding in a query: a space, & and =, +, é, %.
    let odd = [
        "/p/a%20b",
        "/p/a&b=c",
        "/p/a+b",
        "/p/caf%C3%A9",
        "/p/100%25",
        "/q/1",
        "/q/2",
    ];
    let plain = (0..30).map(|i| format!("/p/{i:02}"));
    for target in odd.iter().map(|target| target.to_string()).chain(plain) {
        assert_eq!(put(&router, &target, b"x").status(), 201, "{target}");
    }
    let union: BTreeSet<String> = cluster.nodes.iter().flat_map(node_keys).collect();
    assert_eq!(union.len(), 37);
    assert!(union.contains("/p/a b") && union.contains("/p/caf\u{e9}"));
    for node in &cluster.nodes {
        assert!(node_keys(node).len() < union.len(), "spread over nodes");
    }

    for (prefix, env) in [("", &[("HTTPDB_TOKEN", TOKEN)][..]), ("/p/", &[])] {
        let mut listed: Vec<String> = Vec::new();
        loop {
            let mut extra = vec!["--limit", "7", "--prefix", prefix];
            if env.is_empty() {
                extra.extend(["--token", TOKEN]);
            }
            let after = listed.last().cloned();
            if let Some(after) = &after {
                extra.extend(["--after", after.as_str()]);
            }
            let output = cluster_keys(&cluster, &extra, env);
            assert!(output.status.success(), "{output:?}");
            let page: Vec<String> = serde_json::from_slice(&output.stdout).expect("a JSON array");
            assert!(page.len() <= 7);
            if page.is_empty() {
                break;
            }
            listed.extend(page);
        }
        let expected: Vec<String> = union
            .iter()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect();
        assert_eq!(listed, expected, "prefix {prefix:?}");
    }

    // Without the token, a node refuses, and the tool says which.
    let refused = cluster_keys(&cluster, &[], &[]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&cluster.nodes[0].url()), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn cluster_tools_name_the_flag_or_node_that_is_wrong() {
    let free_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a port")
        .port();
    let gone = format!("http://127.0.0.1:{free_port}");
    for (args, code, names) in [
        (vec!["keys", "--node", &gone], 1, gone.as_str()),
        (
            vec!["keys", "--node", "http://a:1", "--limit", "x"],
            2,
            "--limit",
        ),
        (vec!["keys"], 2, "--node"),
        (vec!["rebalance", "--node", "http://a:1"], 2, "--router"),
        (
            vec!["rebalance", "--router", &gone, "--node", &gone],
            1,
            gone.as_str(),
        ),
        (
            vec!["nginx-conf", "--listen", "x", "--node", "a:1"],
            2,
            "--listen",
        ),
        (vec!["nginx-conf", "--nodes", "a:1"], 2, "--nodes"),
        (vec!["grow"], 2, "grow"),
    ] {
        let mut full = vec!["cluster".to_string()];
        full.extend(args.iter().map(|arg| arg.to_string()));
        let output = httpdb(&full, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

/// Runs `httpdb cluster rebalance` against `cluster`'s router and nodes:
/// exit code, stdout, stderr.
fn rebalance(cluster: &Cluster, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "cluster".to_string(),
        "rebalance".to_string(),
        "--router".to_string(),
        cluster.router.url(),
    ];
    args.extend(cluster.node_urls());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let output = httpdb(&args, &[("HTTPDB_TOKEN", TOKEN)]);
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `N moved, M left in place, K not moved` line's first number.
fn moved_count(report: &str) -> usize {
    let summary = report.lines().last().expect("a summary");
    summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {report}"))
}

#[test]
fn adding_a_node_and_rebalancing_moves_about_a_quarter_of_the_keys_onto_it() {
    let Cluster {
        mut nodes,
        router,
        dir,
    } = Cluster::start("rebalance", 3);
    let keys: Vec<String> = (0..120).map(|i| format!("/r/{i}")).collect();
    let mut before: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for key in &keys {
        let written = put(&router.addr(), key, key.as_bytes());
        assert_eq!(written.status(), 201);
        before.insert(key, (owner(&written).to_string(), etag(&written)));
    }

    nodes.push(Node::start(&dir.0.join("node3"), 0));
    let cluster = Cluster { nodes, router, dir };
    let all: Vec<&Node> = cluster.nodes.iter().collect();
    // Until the router pauses writes, rebalance refuses to start.
    let (code, report, stderr) = rebalance(&cluster, &["--wait", "0"]);
    assert_eq!(code, 1, "{report}");
    assert!(stderr.contains(&cluster.router.url()) && stderr.contains("not paused"));
    assert!(report.is_empty(), "nothing moved: {report}");

    cluster.router.reload(&all, true);
    let (router, new) = (cluster.router.addr(), cluster.nodes[3].addr().to_string());
    let paused = put(&router, "/r/0", b"during the move");
    assert_eq!(paused.status(), 503, "writes are paused: {paused:?}");
    assert!(paused.header("retry-after").is_some());

    // Keys the router now sends to the new node, still on their old ones.
    let moving: Vec<&String> = keys
        .iter()
        .filter(|key| owner(&call(&router, "HEAD", key, &[], None)) == new)
        .collect();
    let share = moving.len() as f64 / keys.len() as f64;
    assert!((0.125..0.5).contains(&share), "about 1/4 move, not {share}");
    // One has a different value on the new node already (never clobbered);
    // one has the same value there, as a run stopped halfway would leave it.
    let (clash, half_done) = (moving[0].as_str(), moving[1].as_str());
    assert_eq!(put(&new, clash, b"someone else's").status(), 201);
    assert_eq!(put(&new, half_done, half_done.as_bytes()).status(), 201);

    let (code, report, stderr) = rebalance(&cluster, &[]);
    assert_eq!((code, stderr.as_str()), (1, ""), "{report}");
    assert_eq!(moved_count(&report), moving.len() - 1, "{report}");
    let not_moved: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("not moved"))
        .collect();
    assert_eq!(not_moved.len(), 1, "{report}");
    assert!(not_moved[0].contains(clash) && not_moved[0].contains("different value"));
    assert_eq!(call(&new, "GET", clash, &[], None).body, b"someone else's");
    let clash_home = &before[clash].0;
    assert_eq!(
        cluster.holders(clash).len(),
        2,
        "nothing deleted that was not copied"
    );
    assert_eq!(
        call(clash_home, "GET", clash, &[], None).body,
        clash.as_bytes()
    );

    for key in &moving[1..] {
        assert_eq!(cluster.holders(key), [new.as_str()], "{key} moved");
        let read = call(&new, "GET", key, &[], None);
        assert_eq!(read.body, key.as_bytes());
        assert!(revision(&etag(&read)) > revision(&before[key.as_str()].1));
    }
    for key in keys.iter().filter(|key| !moving.contains(key)) {
        assert_eq!(
            cluster.holders(key),
            [before[key.as_str()].0.clone()],
            "{key} stays"
        );
    }

    // Resolve the clash by hand; the next run moves that key and no other.
    let clash_etag = etag(&call(&new, "GET", clash, &[], None));
    let resolved = call(&new, "DELETE", clash, &[("If-Match", &clash_etag)], None);
    assert_eq!(resolved.status(), 204);
    let (code, report, _) = rebalance(&cluster, &[]);
    assert_eq!((code, moved_count(&report)), (0, 1), "{report}");
    let (code, report, _) = rebalance(&cluster, &[]);
    assert_eq!((code, moved_count(&report)), (0, 0), "{report}");
    assert!(report.contains(", 0 not moved"), "{report}");

    // Writes resume; an ETag from before the move matches nothing now.
    cluster.router.reload(&all, false);
    let router = &cluster.router;
    let moved = moving[2].as_str();
    let old_etag = before[moved].1.as_str();
    let stale = call(
        &router.addr(),
        "PUT",
        moved,
        &[("If-Match", old_etag)],
        Some(b"cas"),
    );
    assert_eq!(stale.status(), 412, "{stale:?}");
    let fresh = call(
        &router.addr(),
        "GET",
        moved,
        &[("If-None-Match", old_etag)],
        None,
    );
    assert_eq!(fresh.status(), 200, "{fresh:?}");
    assert_eq!(
        (owner(&fresh), fresh.body.as_slice()),
        (new.as_str(), moved.as_bytes())
    );
    for key in &keys {
        let read = call(&router.addr(), "GET", key, &[], None);
        assert_eq!(read.status(), 200, "{key} sits with its owner");
    }
}
