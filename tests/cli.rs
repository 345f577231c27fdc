//! The `httpdb` binary as a user runs it: the first stdout line, the access
//! log, flags and environment variables, exit statuses, and the README's
//! "Try it" transcript with the real `curl`.
//!
//! curl is used only where working with curl itself is the point (the
//! transcript, curl's own `Expect: 100-continue` and chunked uploads);
//! everything else goes through the tests' one client.

mod common;

use std::process::{Command, Output};

use common::process::Process;
use common::{BodyChecks, Talk};

/// Starts the binary in memory on a free port, with `args` and `env` added.
fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
    let mut command = Process::command();
    command
        .args(["--addr", "127.0.0.1:0", "--in-memory"])
        .args(args)
        .envs(env.iter().copied());
    Process::start(command)
}

/// Runs the real `curl` with `-s -i` and returns its output as text.
fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl must be installed to run these tests (.ci/run installs it)");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The status line, headers (lower-cased names) and body of curl's `-i` output.
fn split_curl(output: &str) -> (String, Vec<(String, String)>, String) {
    // An interim "100 Continue" comes first when curl sent Expect; skip it.
    let mut rest = output;
    while rest.starts_with("HTTP/1.1 100") {
        rest = rest.split_once("\r\n\r\n").map_or("", |(_, after)| after);
    }
    let (head, body) = rest.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("a status line").to_string();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("name: value");
            (name.to_ascii_lowercase(), value.to_string())
        })
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `"<digits>"`: the strong validator httpdb gives every version.
fn is_strong_etag(etag: &str) -> bool {
    etag.strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_httpdb"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run httpdb")
}

#[test]
fn the_readme_transcript_with_curl() {
    // The README's "Try it" shows these exchanges as curl prints them: what
    // a reader who pastes them should see.
    let server = start(&["--quiet"], &[]);

    let (status, headers, body) = split_curl(&curl(&[
        "-X",
        "POST",
        &server.url("/hello"),
        "-H",
        "Content-Type: text/plain",
        "-d",
        "A quick brown fox",
    ]));
    assert_eq!(status, "HTTP/1.1 201 Created");
    assert_eq!(header(&headers, "location"), Some("/hello"));
    let etag = header(&headers, "etag").expect("an ETag").to_string();
    assert!(is_strong_etag(&etag), "{etag}");
    assert_eq!(body, "");

    let (status, headers, body) = split_curl(&curl(&[&server.url("/hello")]));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
    assert_eq!(header(&headers, "content-type"), Some("text/plain"));
    assert_eq!(header(&headers, "content-length"), Some("17"));
    assert!(header(&headers, "date").is_some_and(|d| httpdate::parse_http_date(d).is_ok()));
    assert_eq!(
        header(&headers, "server"),
        Some(concat!("httpdb/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(body, "A quick brown fox");

    let (status, _, _) = split_curl(&curl(&[
        "-X",
        "POST",
        &server.url("/json"),
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"hello": "world"}"#,
    ]));
    assert_eq!(status, "HTTP/1.1 201 Created");

    let (status, headers, body) = split_curl(&curl(&[&server.url("/_all")]));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let all: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(all["/hello"]["value"], "A quick brown fox");
    assert_eq!(all["/hello"]["content_type"], "text/plain");
    assert_eq!(all["/json"]["value"], serde_json::json!({"hello": "world"}));
    assert_eq!(all["/json"]["size"], 18);

    let (status, headers, body) = split_curl(&curl(&[
        "-X",
        "POST",
        &server.url("/broken"),
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"hello": }"#,
    ]));
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/problem+json")
    );
    assert!(body.contains("line 1 column 11"), "{body}");
}

#[test]
fn curl_uploads_with_expect_100_continue_and_chunked_encoding() {
    // Whether curl's own uploads work: its wait for `100 Continue`, and its
    // chunk sizes.
    let server = start(&["--quiet"], &[]);
    let dir = std::env::temp_dir().join(format!("httpdb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("upload.bin");
    let data: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(&file, &data).expect("write upload");
    let upload = format!("@{}", file.display());

    // Over 1 MiB, curl sends `Expect: 100-continue` and waits for the 100.
    let output = curl(&[
        "-X",
        "PUT",
        &server.url("/big"),
        "--data-binary",
        &upload,
        "-H",
        "Expect: 100-continue",
    ]);
    assert!(
        output.starts_with("HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        &output[..80.min(output.len())]
    );
    let (status, _, _) = split_curl(&output);
    assert_eq!(status, "HTTP/1.1 201 Created");

    let (status, _, _) = split_curl(&curl(&[
        "-X",
        "PUT",
        &server.url("/chunked"),
        "--data-binary",
        &upload,
        "-H",
        "Transfer-Encoding: chunked",
    ]));
    assert_eq!(status, "HTTP/1.1 201 Created");

    let mut client = server.connect();
    for key in ["/big", "/chunked"] {
        let stored = client.request("GET", key, &[], None);
        assert!(stored.body == data, "{key} came back different");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn each_response_gets_an_access_log_line() {
    let server = start(&[], &[]);
    let mut client = server.connect();
    assert_eq!(
        client.request("PUT", "/logged", &[], Some(b"v")).status(),
        201
    );
    let line = server.next_stdout_line().expect("an access log line");
    // 127.0.0.1 - - [23/Nov/2026:23:03:50 +0000] "PUT /logged HTTP/1.1" 201 0
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.ends_with(" +0000] \"PUT /logged HTTP/1.1\" 201 0"),
        "{line}"
    );
    assert_eq!(client.request("GET", "/logged", &[], None).status(), 200);
    let line = server.next_stdout_line().expect("an access log line");
    assert!(line.ends_with("\"GET /logged HTTP/1.1\" 200 1"), "{line}");
}

#[test]
fn quiet_writes_no_access_log() {
    let server = start(&["--quiet"], &[]);
    let mut client = server.connect();
    for _ in 0..3 {
        assert_eq!(client.request("GET", "/_health", &[], None).status(), 200);
    }
    assert_eq!(server.kill_9().0, Vec::<String>::new());
}

#[test]
fn environment_variables_set_flags() {
    let server = start(&["--quiet"], &[("HTTPDB_TOKEN", "from-env")]);
    let mut client = server.connect();
    let refused = client.request("GET", "/k", &[], None);
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "{refused:?}"
    );
    refused.problem_detail();
    let authorized = client.request("GET", "/k", &[("Authorization", "Bearer from-env")], None);
    assert_eq!(authorized.status(), 404);
}

#[test]
fn help_and_version() {
    let help = run(&["--help"], &[]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--addr",
        "--threads",
        "--data-dir",
        "--in-memory",
        "--fsync",
        "--max-body",
        "--max-header-bytes",
        "--read-timeout",
        "--idle-timeout",
        "--max-pending",
        "--token",
        "--quiet",
        "--repair",
    ] {
        assert!(text.contains(flag), "--help must list {flag}");
    }
    assert!(text.contains("HTTPDB_MAX_BODY"));
    let version = run(&["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        concat!("httpdb ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flags_and_values_exit_2_with_one_line() {
    for (args, env) in [
        (&["--threads", "0"][..], &[][..]),
        (&["--no-such-flag"], &[]),
        (&["--fsync", "sometimes"], &[]),
        (&["--max-body", "lots"], &[]),
        (&["--idle-timeout", "forever"], &[]),
        (&[], &[("HTTPDB_READ_TIMEOUT", "-3")]),
    ] {
        let output = run(args, env);
        assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("httpdb: "), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = run(&["--addr", &addr, "--in-memory"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot listen on") && stderr.contains(&addr),
        "{stderr}"
    );
}
