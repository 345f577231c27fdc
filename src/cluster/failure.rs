//! How the `httpdb cluster` tools fail: a usage error (exit status 2) or a
//! node or router that failed (exit status 1), each one line.

use std::fmt;
use std::io::Write;

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

/// A usage error: the command line is wrong.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(message.into())
}

/// Writes `text` to the tool's output and flushes it, so progress shows as
/// it happens; a failed write is a failure like any other.
pub fn print(out: &mut dyn Write, text: &str) -> Result<(), Failure> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|error| Failure::Failed(format!("cannot write the output: {error}")))
}
