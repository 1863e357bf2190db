//! IMAP over a `Conn`: responses read until the tagged status, assembled and
//! bounded (literals included) by `imap_reader::ResponseReader`. A small client of its own rather
//! than async-imap: async-imap hides the tagged response text and capability list
//! that are the evidence here, and cannot be limited to one login attempt with a
//! redacted transcript.

use crate::net::conn::{Conn, NetError};
pub use crate::net::imap_reader::Tagged;
use crate::net::imap_reader::{Done, Need, ResponseReader};

/// Reads until the line tagged `tag` (one step: one deadline for the whole
/// response), keeping the untagged lines with their literals inlined. A `+`
/// continuation is returned as a tagged status "+" so callers can answer it.
pub async fn read_tagged(conn: &mut Conn, tag: &str, phase: &str) -> Result<Tagged, NetError> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut reader = ResponseReader::new(tag);
    let protocol = |e: crate::net::ProtoError| NetError::Protocol {
        phase: phase.into(),
        what: e.to_string(),
    };
    loop {
        let done = match reader.need() {
            Need::Line => {
                let line = conn.read_line_until(phase, deadline).await?;
                reader.push_line(&line).map_err(protocol)?
            }
            Need::Literal(n) => {
                let text = conn.read_exact_until(n, phase, deadline).await?;
                reader.push_literal(n, &text).map_err(protocol)?;
                None
            }
        };
        match done {
            None => {}
            Some(Done::Tagged(t)) => return Ok(t),
            Some(Done::Bye(_)) => {
                return Err(NetError::Closed {
                    phase: phase.into(),
                })
            }
        }
    }
}

/// Capabilities from the `* CAPABILITY ...` lines and `[CAPABILITY ...]` codes
/// among `lines` (a greeting, untagged lines, a tagged OK); other lines are not
/// capability lists and are ignored.
pub fn capabilities_in<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut caps: Vec<String> = Vec::new();
    for line in lines {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("* CAPABILITY ") || upper.contains("[CAPABILITY ") {
            for c in crate::net::imap_proto::capabilities(line) {
                if !caps.contains(&c) {
                    caps.push(c);
                }
            }
        }
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_only_from_capability_lines() {
        let g = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAy]";
        assert!(capabilities_in([g]).is_empty());
        let c = capabilities_in([
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Dovecot ready.",
            "* CAPABILITY IMAP4rev1 LITERAL+",
        ]);
        assert_eq!(c, ["IMAP4REV1", "SASL-IR", "AUTH=PLAIN", "LITERAL+"]);
    }
}
