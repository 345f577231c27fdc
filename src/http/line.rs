//! Reading one protocol line from a `BufRead`, under a byte budget.
//!
//! HTTP/1.1 lines end in CRLF; a recipient may also accept a bare LF
//! (RFC 9112 §2.2), and httpdb does. A CR anywhere else is an error, because
//! parsers that disagree about a lone CR are how requests get smuggled.
//!
//! The budget is enforced while the line is still arriving: a client that
//! sends 10 MB without a newline is refused after the first few kilobytes,
//! not once it finally stops.

use std::io::BufRead;

use super::error::HttpError;

/// Appends the next line to `line` (without its CRLF or LF) and returns how
/// many bytes it consumed from `reader`, line ending included.
///
/// `budget` is the most bytes the line (without its ending) may have;
/// `over_budget` makes the error to return when it has more. Reaching the end
/// of the stream before the line ends is a 400 unless nothing at all was
/// read, which returns `Ok(0)`.
pub fn read_line<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    budget: usize,
    over_budget: impl Fn() -> HttpError,
) -> Result<usize, HttpError> {
    let start = line.len();
    let mut consumed = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HttpError::from_io(e)),
        };
        if available.is_empty() {
            return if consumed == 0 {
                Ok(0)
            } else {
                Err(HttpError::bad(
                    "the connection was closed in the middle of a line",
                ))
            };
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(available.len());
        // The CR of a CRLF counts toward the budget while it is still in
        // flight, so allow one byte of slack for it.
        if line.len() - start + take > budget + 1 {
            return Err(over_budget());
        }
        line.extend_from_slice(&available[..take]);
        let used = take + usize::from(newline.is_some());
        reader.consume(used);
        consumed += used;
        if newline.is_some() {
            break;
        }
    }
    if line.len() > start && line[line.len() - 1] == b'\r' {
        line.pop();
    }
    if line.len() - start > budget {
        return Err(over_budget());
    }
    if line[start..].contains(&b'\r') {
        return Err(HttpError::bad(
            "a bare CR is only allowed as part of a CRLF line ending (RFC 9112 §2.2)",
        ));
    }
    Ok(consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], budget: usize) -> Result<Vec<Vec<u8>>, HttpError> {
        let mut reader = input;
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            if read_line(&mut reader, &mut line, budget, || HttpError::bad("long"))? == 0 {
                return Ok(out);
            }
            out.push(line);
        }
    }

    #[test]
    fn crlf_and_bare_lf_both_end_a_line() {
        let got = lines(b"one\r\ntwo\nthree\r\n", 100).unwrap();
        assert_eq!(
            got,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
    }

    #[test]
    fn bare_cr_inside_a_line_is_refused() {
        assert!(lines(b"a\rb\r\n", 100).is_err());
        assert!(lines(b"ab\r\r\n", 100).is_err());
    }

    #[test]
    fn budget_counts_content_not_the_line_ending() {
        assert_eq!(lines(b"abcd\r\n", 4).unwrap(), vec![b"abcd".to_vec()]);
        assert!(lines(b"abcde\r\n", 4).is_err());
    }

    #[test]
    fn over_budget_is_detected_before_the_line_ends() {
        // A reader that would hand out a newline only after a megabyte: the
        // budget error must come from the first buffer-full.
        let mut endless = std::io::BufReader::with_capacity(16, std::io::repeat(b'a'));
        let mut line = Vec::new();
        let result = read_line(&mut endless, &mut line, 64, || HttpError::bad("long"));
        assert!(result.is_err());
        assert!(line.len() <= 65);
    }

    #[test]
    fn end_of_stream_mid_line_is_an_error_but_clean_end_is_not() {
        assert!(lines(b"abc", 100).is_err());
        assert_eq!(lines(b"", 100).unwrap(), Vec::<Vec<u8>>::new());
    }
}
