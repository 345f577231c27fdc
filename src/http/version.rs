//! The protocol version on a request line (RFC 9112 §2.3): `HTTP/1.0` or
//! `HTTP/1.1`. A higher 1.x minor version is read as HTTP/1.1, the highest
//! httpdb speaks (RFC 9110 §2.5); another major version gets 505.

use super::error::HttpError;

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// `HTTP/1.0` (RFC 1945).
    Http10,
    /// `HTTP/1.1` (RFC 9112), and any later 1.x.
    Http11,
}

impl Version {
    /// The version as it appears on a status or request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3).
pub fn parse_version(version: &[u8]) -> Result<Version, HttpError> {
    let [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = *version else {
        return Err(HttpError::bad(
            "the protocol version must look like HTTP/1.1 (RFC 9112 §2.3)",
        ));
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(HttpError::bad(
            "the protocol version must look like HTTP/1.1 (RFC 9112 §2.3)",
        ));
    }
    match (major, minor) {
        (b'1', b'0') => Ok(Version::Http10),
        (b'1', _) => Ok(Version::Http11),
        _ => Err(HttpError::VersionNotSupported(
            String::from_utf8_lossy(version).into_owned(),
        )),
    }
}
