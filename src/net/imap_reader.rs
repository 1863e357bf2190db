//! Assembles one IMAP response, from the first untagged line to the tagged status
//! (or a `+` continuation), literals included (RFC 3501 section 4.3). Pure and
//! synchronous: the async client (`net::imap`) reads what `need` asks for (a line,
//! or exactly N literal bytes) and pushes it here, so every bound is enforced in
//! one place the fuzzer reaches. Every push consumes what the server sent and
//! moves on: a `{0}` literal, nested literals or an endless response end at a cap
//! (literal count, literal bytes, untagged lines, response bytes), never in a loop.
//!
//! Literals are honoured where the grammar puts them, in untagged data; on a tagged
//! status or a continuation `{N}` is plain text. No I/O, no panics.

use super::imap_proto::check_literal;
use super::ProtoError;

/// Most untagged lines accepted before the tagged status.
pub const MAX_UNTAGGED: usize = 1024;
/// Most literal bytes in one response.
pub const MAX_LITERAL_BYTES: usize = 64 * 1024;
/// Most literals in one response (`{0}` costs nothing else, so it is counted).
pub const MAX_LITERALS: usize = 64;
/// Most bytes one response (untagged lines, literals, tagged status) may have.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A complete response: the tagged status line, or a `+` continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// `OK`, `NO`, `BAD`, or `+` for a continuation.
    pub status: String,
    /// The whole tagged (or continuation) line as sent.
    pub line: String,
    /// The untagged lines before it, each with its literals inlined.
    pub untagged: Vec<String>,
}

impl Tagged {
    pub fn ok(&self) -> bool {
        self.status == "OK"
    }
}

/// What the reader needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Line,
    /// Exactly this many bytes: the literal just announced.
    Literal(usize),
}

/// How a response ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Tagged(Tagged),
    /// `* BYE`: the server is closing the connection (the line as sent).
    Bye(String),
}

/// Reads the response to the command tagged `tag`.
#[derive(Debug)]
pub struct ResponseReader {
    tag: String,
    untagged: Vec<String>,
    /// The untagged line being assembled around its literals.
    pending: Option<String>,
    need: Need,
    bytes: usize,
    literal_bytes: usize,
    literals: usize,
}

fn too_long(what: &'static str, limit: usize, unit: &'static str) -> ProtoError {
    ProtoError::TooLong { what, limit, unit }
}

impl ResponseReader {
    pub fn new(tag: &str) -> Self {
        ResponseReader {
            tag: tag.to_string(),
            untagged: Vec::new(),
            pending: None,
            need: Need::Line,
            bytes: 0,
            literal_bytes: 0,
            literals: 0,
        }
    }

    pub fn need(&self) -> Need {
        self.need
    }

    fn count(&mut self, n: usize) -> Result<(), ProtoError> {
        // Each line costs its line ending too, so even empty lines add up.
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > MAX_RESPONSE_BYTES {
            return Err(too_long("IMAP response", MAX_RESPONSE_BYTES, "bytes"));
        }
        Ok(())
    }

    /// Pushes one line (without its CR LF). Some when the response is complete.
    pub fn push_line(&mut self, line: &str) -> Result<Option<Done>, ProtoError> {
        if self.need != Need::Line {
            return Err(ProtoError::malformed(
                "IMAP literal (a line came instead)",
                line,
            ));
        }
        self.count(line.len() + 2)?;
        if let Some(mut pending) = self.pending.take() {
            // The rest of an untagged line after a literal; it may announce another.
            pending.push_str(line);
            return self.after_piece(pending, line);
        }
        if line.starts_with('+') {
            return Ok(Some(self.finish("+".into(), line)));
        }
        if let Some(rest) = line
            .strip_prefix(self.tag.as_str())
            .and_then(|r| r.strip_prefix(' '))
        {
            let status = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if !matches!(status.as_str(), "OK" | "NO" | "BAD") {
                return Err(ProtoError::malformed("IMAP tagged status", line));
            }
            return Ok(Some(self.finish(status, line)));
        }
        if !line.starts_with('*') {
            return Err(ProtoError::malformed(
                "IMAP response (neither untagged nor tagged)",
                line,
            ));
        }
        self.after_piece(line.to_string(), line)
    }

    /// Pushes the literal's bytes (as text: the caller decodes and scrubs them);
    /// `n` is how many bytes the server sent for it.
    pub fn push_literal(&mut self, n: usize, text: &str) -> Result<(), ProtoError> {
        if self.need != Need::Literal(n) {
            return Err(ProtoError::malformed(
                "IMAP literal (unexpected bytes)",
                text,
            ));
        }
        self.count(n)?;
        if let Some(p) = self.pending.as_mut() {
            p.push_str(text);
        }
        self.need = Need::Line;
        Ok(())
    }

    /// `assembled` is the untagged line so far; `piece` the part just read, whose
    /// end may announce a literal.
    fn after_piece(
        &mut self,
        mut assembled: String,
        piece: &str,
    ) -> Result<Option<Done>, ProtoError> {
        if let Some((n, _)) = check_literal(piece)? {
            self.literals += 1;
            if self.literals > MAX_LITERALS {
                return Err(too_long("IMAP response", MAX_LITERALS, "literals"));
            }
            self.literal_bytes = self.literal_bytes.saturating_add(n);
            if self.literal_bytes > MAX_LITERAL_BYTES {
                return Err(too_long("IMAP literals", MAX_LITERAL_BYTES, "bytes"));
            }
            // The announcement gives way to the literal's text.
            if let Some(open) = assembled.rfind('{') {
                assembled.truncate(open);
            }
            self.pending = Some(assembled);
            self.need = Need::Literal(n);
            return Ok(None);
        }
        let bye = assembled
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("* BYE"));
        if bye {
            return Ok(Some(Done::Bye(assembled)));
        }
        self.untagged.push(assembled);
        if self.untagged.len() > MAX_UNTAGGED {
            return Err(too_long("IMAP response", MAX_UNTAGGED, "untagged lines"));
        }
        Ok(None)
    }

    fn finish(&mut self, status: String, line: &str) -> Done {
        Done::Tagged(Tagged {
            status,
            line: line.to_string(),
            untagged: std::mem::take(&mut self.untagged),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a reader over raw bytes as the async client does.
    fn read(tag: &str, mut input: &[u8]) -> Result<Option<Done>, ProtoError> {
        let mut r = ResponseReader::new(tag);
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps <= 2 * input.len() + 2, "no progress");
            match r.need() {
                Need::Line => {
                    let Some(pos) = input.iter().position(|b| *b == b'\n') else {
                        return Ok(None);
                    };
                    let line = String::from_utf8_lossy(&input[..pos]);
                    let line = line.strip_suffix('\r').unwrap_or(&line).to_string();
                    input = &input[pos + 1..];
                    if let Some(done) = r.push_line(&line)? {
                        return Ok(Some(done));
                    }
                }
                Need::Literal(n) => {
                    if input.len() < n {
                        return Ok(None);
                    }
                    let text = String::from_utf8_lossy(&input[..n]).into_owned();
                    input = &input[n..];
                    r.push_literal(n, &text)?;
                }
            }
        }
    }

    fn tagged(d: Option<Done>) -> Tagged {
        match d {
            Some(Done::Tagged(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn literals_are_read_as_bytes_and_inlined() {
        let t = tagged(
            read(
                "A1",
                b"* CAPABILITY {8}\r\nIMAP4rev1 STARTTLS\r\n* 1 FETCH (BODY[] {5}\r\na\r\nb)\r\nA1 OK done\r\n",
            )
            .expect("reads"),
        );
        assert_eq!(t.untagged[0], "* CAPABILITY IMAP4rev1 STARTTLS");
        assert_eq!(t.untagged[1], "* 1 FETCH (BODY[] a\r\nb)");
        assert!(t.ok());
    }

    #[test]
    fn zero_length_and_nested_literals_make_progress_and_end_at_a_cap() {
        let t = tagged(read("A1", b"* CAPABILITY {0}\r\n\r\nA1 OK\r\n").expect("reads"));
        assert_eq!(t.untagged, ["* CAPABILITY "]);
        // `{0}` after `{0}` after `{0}`...: counted, then refused.
        let mut endless = b"* X {0}\r\n".to_vec();
        endless.extend(b"{0}\r\n".repeat(1000));
        assert!(matches!(
            read("A1", &endless),
            Err(ProtoError::TooLong {
                unit: "literals",
                ..
            })
        ));
        // The largest announcement there is.
        assert!(read("A1", b"* X {4294967295}\r\n").is_err());
        assert!(read("A1", b"* X {18446744073709551616}\r\n").is_err());
    }

    #[test]
    fn literals_on_a_tagged_line_are_text_and_bye_ends_the_response() {
        let t = tagged(read("A2", b"A2 NO {0}\r\n").expect("reads"));
        assert_eq!((t.status.as_str(), t.line.as_str()), ("NO", "A2 NO {0}"));
        assert!(matches!(
            read("A1", b"* BYE {3}\r\nbye\r\n\r\n"),
            Ok(Some(Done::Bye(_)))
        ));
        assert!(read("A1", b"garbage\r\n").is_err());
        assert!(read("A1", b"A1 MAYBE\r\n").is_err());
    }

    #[test]
    fn literal_bytes_are_capped_per_response() {
        let mut input = Vec::new();
        for _ in 0..3 {
            input.extend_from_slice(format!("* X {{{}}}\r\n", 30_000).as_bytes());
            input.extend(std::iter::repeat_n(b'a', 30_000));
            input.extend_from_slice(b"\r\n");
        }
        assert!(matches!(
            read("A1", &input),
            Err(ProtoError::TooLong {
                what: "IMAP literals",
                ..
            })
        ));
    }
}
