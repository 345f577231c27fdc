//! Step 03: the blog post's request parser, ported line for line. This is
//! the anti-example: read it to see what goes wrong, not how to do it.
//!
//! Step 02 never looked at the request. To tell a GET from a POST, or
//! `/hello` from `/json`, the post parsed it with `get_request` and answered
//! with `get_response` (its `httpdb.py`). Both are here as the post
//! wrote them, faults included, and the server answers every request with
//! what the parser understood of it, so each fault shows:
//! 1. One `recv(1024)` is taken as the whole request. A request that comes
//!    in two writes, or is longer than 1024 bytes, is cut short; TCP is a
//!    byte stream and keeps no message boundaries (RFC 9293 §2.2).
//! 2. The text is split on `\r`, so every line after the first keeps the
//!    `\n` before it, the body gains a `\n` at its front, and every `\r`
//!    inside the body disappears.
//! 3. `Content-Length` is never read, so nothing says where the body ends
//!    (RFC 9112 §6.3).
//! 4. The whole request is decoded as UTF-8 text: a binary body fails the
//!    decoding, and the client gets no answer at all.
//! 5. The response reads `Host`, which HTTP/1.0 may omit (only HTTP/1.1
//!    requires it, RFC 9112 §3.2): no Host, no answer.
//! 6. The response lines end in a bare `\n`, the status line has no reason
//!    phrase and not even the space before it (RFC 9112 §4), and the
//!    Location is `http` + host + path, without `://`.
//!
//! Where Python raised an exception, the port returns an error, and the
//! connection is closed without a response, as it was in the post. The post
//! also sent a Date, taken from the local clock but labelled GMT; std has no
//! calendar, so it is left out here.
//!
//! Run it: `cargo run --example 03_the_post [-- ADDR]` (default 127.0.0.1:8080).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1);
    let listener = TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080"))?;
    // With port 0 the system picks a free port: print the one we got.
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener.incoming())
}

/// Answers each connection `incoming` yields, one after the other.
fn serve(incoming: impl Iterator<Item = io::Result<TcpStream>>) -> io::Result<()> {
    for stream in incoming {
        if let Err(error) = stream.and_then(handle_request) {
            eprintln!("connection failed: {error}");
        }
    }
    Ok(())
}

/// The post's `req` dictionary. (Python keeps header names in the order
/// they came; a sorted map keeps the output the same from run to run.)
struct Request {
    method: String,
    path: String,
    protocol: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// The post's `handle_request`, answering with what the parser understood.
fn handle_request(mut stream: TcpStream) -> io::Result<()> {
    // `data = await reader.read(1024)`: one read, whatever it returns.
    let mut data = [0; 1024];
    let received = stream.read(&mut data)?;
    let req = get_request(&data[..received]).map_err(io::Error::other)?;
    let resp = get_response(&req, 200, &understood(&req)).map_err(io::Error::other)?;
    stream.write_all(&resp)
}

/// The post's `get_request`: "a pathetic way to parse request", as it says.
fn get_request(raw: &[u8]) -> Result<Request, String> {
    // `raw.decode()`: bytes that are not UTF-8 raise an exception.
    let decoded = std::str::from_utf8(raw).map_err(|e| format!("UnicodeDecodeError: {e}"))?;
    let splitted: Vec<&str> = decoded.split('\r').collect();
    // todo: validate
    let first: Vec<&str> = splitted[0].trim().split(' ').collect();
    let [method, path, protocol] = first[..] else {
        return Err(format!("ValueError: cannot unpack {:?}", splitted[0]));
    };
    let mut req = Request {
        method: method.to_uppercase(),
        path: path.to_string(),
        protocol: protocol.to_string(),
        headers: BTreeMap::new(),
        body: Vec::new(),
    };
    let mut headers_done = false;
    for item in &splitted[1..] {
        if *item == "\n" && !headers_done {
            headers_done = true;
            continue;
        }
        if headers_done {
            req.body.extend_from_slice(item.as_bytes());
        } else {
            let items: Vec<&str> = item.trim().split(':').collect();
            if items.len() < 2 {
                continue;
            }
            let (key, value) = (items[0], items[1..].join(":"));
            req.headers
                .insert(key.to_uppercase(), value.trim().to_string());
        }
    }
    Ok(req)
}

/// The post's `get_response`, without its Date.
fn get_response(req: &Request, status: u16, body: &[u8]) -> Result<Vec<u8>, String> {
    let content_type = "text/text";
    // `req["headers"]["HOST"]`: a KeyError when there is no Host.
    let host = req.headers.get("HOST").ok_or("KeyError: 'HOST'")?;
    let uri = format!("http{host}{}", req.path);
    let mut resp = format!(
        "HTTP/1.1 {status}\n\
         Location: {uri}\n\
         Server: keshab/0.3\n\
         Allow: GET,POST\n\
         Content-Type: {content_type}\n\
         Content-Length: {}\n",
        body.len()
    )
    .into_bytes();
    resp.push(b'\n');
    resp.extend_from_slice(body);
    Ok(resp)
}

/// What the parser made of the request, bytes that are not printable ASCII
/// escaped (`\n`, `\r`, `\xff`).
fn understood(req: &Request) -> Vec<u8> {
    let mut text = format!("{} {} {}\n", req.method, req.path, req.protocol);
    for (key, value) in &req.headers {
        text.push_str(&format!("{key}: {value}\n"));
    }
    let body = req.body.escape_ascii();
    text.push_str(&format!("body, {} bytes: {body}\n", req.body.len()));
    text.into_bytes()
}

#[cfg(test)]
#[path = "tests/03_the_post.rs"]
mod tests;
