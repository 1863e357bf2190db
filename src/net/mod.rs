//! Network mechanics: resolving, dialing, TLS, and line-level protocol clients.
//! Nothing here knows what a reply means; the checks decide that. The `*_proto`
//! modules and `sasl` are pure, synchronous, line-level parsers and encoders for
//! SMTP, IMAP and POP3: they never touch a socket, never block, never panic on
//! any input, and bound what they keep. The async clients (`smtp`, `imap`, `pop`
//! over `conn`) feed them one line at a time.

pub mod conn;
pub mod dial;
pub mod http;
pub mod imap;
pub mod imap_proto;
pub mod imap_reader;
pub mod limits;
pub mod pem;
pub mod pop;
pub mod pop_proto;
pub mod proxy;
pub mod resolver;
pub mod sasl;
pub mod scrub;
pub mod session;
pub mod smtp;
pub mod smtp_proto;
pub mod stub;
pub mod sysproxy;
pub mod tls;
pub mod transcript;
pub mod trust;
pub mod verdicts;

/// Longest excerpt of a server line kept in an error.
pub const EXCERPT_CHARS: usize = 80;

/// What went wrong while reading or encoding a protocol line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("malformed {what}: {line_excerpt:?}")]
    Malformed {
        what: &'static str,
        line_excerpt: String,
    },
    #[error("{what} too long: more than {limit} {unit}")]
    TooLong {
        what: &'static str,
        limit: usize,
        unit: &'static str,
    },
    #[error("reply code changed inside a multi-line reply: {first} then {got}")]
    CodeMismatch { first: u16, got: u16 },
    #[error("{what} may not contain CR, LF or NUL")]
    ForbiddenChar { what: &'static str },
}

impl ProtoError {
    pub(crate) fn malformed(what: &'static str, line: &str) -> Self {
        ProtoError::Malformed {
            what,
            line_excerpt: excerpt(line),
        }
    }
}

/// A printable excerpt of at most `EXCERPT_CHARS` characters: control
/// characters become `?`, and a cut line ends with `...`.
pub fn excerpt(line: &str) -> String {
    let head: Vec<char> = line.chars().take(EXCERPT_CHARS + 1).collect();
    let cut = head.len() > EXCERPT_CHARS;
    let keep = if cut { EXCERPT_CHARS - 3 } else { head.len() };
    let mut out: String = head
        .iter()
        .take(keep)
        .map(|&c| if c.is_control() { '?' } else { c })
        .collect();
    if cut {
        // "incorrect. [HOST]" cut after the full stop reads "incorrect...", not "....".
        while out.ends_with(['.', ' ']) {
            out.pop();
        }
        out.push_str("...");
    }
    out
}

/// Refuses a command argument that would end the line early or smuggle in a
/// second command. The error names the argument, never its value.
pub fn check_arg(what: &'static str, value: &str) -> Result<(), ProtoError> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(ProtoError::ForbiddenChar { what });
    }
    Ok(())
}

/// Removes one trailing line ending (`\r\n`, `\n` or a lone `\r`).
pub(crate) fn strip_eol(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_short_and_printable() {
        let long = "x\u{7}é".repeat(100);
        let e = excerpt(&long);
        assert!(e.chars().count() <= EXCERPT_CHARS);
        assert!(e.ends_with("..."));
        assert!(!e.chars().any(char::is_control));
        assert_eq!(excerpt("535 ok\r"), "535 ok?");
        let sentence = format!("{}. [HOST]", "a".repeat(EXCERPT_CHARS - 4));
        assert!(
            excerpt(&sentence).ends_with("aaa..."),
            "{}",
            excerpt(&sentence)
        );
    }

    #[test]
    fn strip_eol_removes_one_line_ending() {
        assert_eq!(strip_eol("a\r\n"), "a");
        assert_eq!(strip_eol("a\n"), "a");
        assert_eq!(strip_eol("a\r"), "a");
        assert_eq!(strip_eol("a\n\n"), "a\n");
    }
}
