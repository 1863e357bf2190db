//! IMAP over a `Conn`: responses read until the tagged status, literals bounded
//! through `imap_proto::check_literal`. A small client of its own rather
//! than async-imap: async-imap hides the tagged response text and capability list
//! that are the evidence here, and cannot be limited to one login attempt with a
//! redacted transcript.

use crate::net::conn::{Conn, NetError};
use crate::net::imap_proto::check_literal;

/// Most untagged lines accepted before the tagged status.
pub const MAX_UNTAGGED: usize = 1024;
/// Largest literal accepted inside a response.
pub const MAX_LITERAL: usize = 64 * 1024;
/// Most bytes one response (untagged lines and tagged status) may have.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub status: String,
    /// The whole tagged line as sent.
    pub line: String,
    pub untagged: Vec<String>,
}

impl Tagged {
    pub fn ok(&self) -> bool {
        self.status == "OK"
    }
}

/// Reads until the line tagged `tag` (one step), keeping the untagged lines.
/// A `+` continuation is returned as a tagged status "+" so callers can answer it.
pub async fn read_tagged(conn: &mut Conn, tag: &str, phase: &str) -> Result<Tagged, NetError> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut untagged = Vec::new();
    let mut total = 0usize;
    loop {
        let mut line = conn.read_line_until(phase, deadline).await?;
        // Literals: swallow their bytes as further lines (bounded).
        let mut budget = MAX_LITERAL;
        while let Some((n, _)) = check_literal(&line).map_err(|e| NetError::Protocol {
            phase: phase.into(),
            what: e.to_string(),
        })? {
            if n > budget {
                return Err(NetError::Protocol {
                    phase: phase.into(),
                    what: format!("a literal of {n} bytes"),
                });
            }
            budget -= n;
            let mut got = 0;
            while got < n {
                let more = conn.read_line_until(phase, deadline).await?;
                got += more.len() + 2;
                line.push(' ');
                line.push_str(&more);
            }
        }
        if line.starts_with('+') {
            return Ok(Tagged {
                status: "+".into(),
                line,
                untagged,
            });
        }
        if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
            let status = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if !matches!(status.as_str(), "OK" | "NO" | "BAD") {
                return Err(NetError::Protocol {
                    phase: phase.into(),
                    what: format!("tagged status `{status}`"),
                });
            }
            return Ok(Tagged {
                status,
                line,
                untagged,
            });
        }
        if !line.starts_with('*') {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!(
                    "`{}` is neither untagged nor tagged {tag}",
                    crate::net::excerpt(&line)
                ),
            });
        }
        total += line.len();
        if total > MAX_RESPONSE_BYTES {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("a response of more than {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        let bye = line
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("* BYE"));
        untagged.push(line);
        if bye {
            return Err(NetError::Closed {
                phase: phase.into(),
            });
        }
        if untagged.len() > MAX_UNTAGGED {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("more than {MAX_UNTAGGED} untagged lines"),
            });
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
