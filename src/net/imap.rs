//! IMAP: tagged commands, responses read until the tagged status (with literals),
//! capability lists and LOGIN argument quoting. A small client of its own rather
//! than async-imap: async-imap hides the tagged response text and capability list
//! that are the evidence here, and cannot be limited to one login attempt with a
//! redacted transcript.

use crate::net::conn::{Conn, NetError};

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

/// `{N}` or `{N+}` at the end of a line.
pub fn literal_len(line: &str) -> Option<usize> {
    let open = line.rfind('{')?;
    let inner = line[open + 1..].strip_suffix('}')?;
    inner.trim_end_matches('+').parse().ok()
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
        while let Some(n) = literal_len(&line) {
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
                    crate::net::smtp::excerpt(&line)
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

/// Capabilities from `* CAPABILITY ...` lines or a `[CAPABILITY ...]` code.
pub fn capabilities<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut caps = Vec::new();
    for l in lines {
        let upper = l.to_ascii_uppercase();
        let list = if let Some(i) = upper.find("[CAPABILITY ") {
            upper[i + 12..]
                .split(']')
                .next()
                .unwrap_or_default()
                .to_string()
        } else if let Some(rest) = upper.strip_prefix("* CAPABILITY ") {
            rest.to_string()
        } else {
            continue;
        };
        caps.extend(list.split_whitespace().map(str::to_string));
    }
    caps
}

/// How a LOGIN argument must be sent.
pub enum Arg {
    /// A quoted string, ready to send.
    Quoted(String),
    /// A literal of these bytes (non-ASCII, CR/LF, or quotes the server may mangle).
    Literal(String),
}

pub fn login_arg(s: &str) -> Arg {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) && s.len() < 1000 {
        let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
        Arg::Quoted(format!("\"{escaped}\""))
    } else {
        Arg::Literal(s.to_string())
    }
}

/// Exchange Online greets with the base64 (UTF-16LE) of its back-end host; decode it.
pub fn exchange_backend(greeting: &str) -> Option<String> {
    use base64::Engine as _;
    let open = greeting.rfind('[')?;
    let inner = greeting[open + 1..].strip_suffix(']')?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .ok()?;
    if bytes.len() % 2 != 0 || bytes.is_empty() {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16(&units).ok()?;
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        .then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_from_greeting_code_and_untagged_line() {
        let c = capabilities(["* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE AUTH=PLAIN] Dovecot ready."]);
        assert!(c.contains(&"AUTH=PLAIN".to_string()) && c.contains(&"SASL-IR".to_string()));
        let c = capabilities(["* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"]);
        assert_eq!(c.len(), 12);
    }

    #[test]
    fn exchange_greeting_names_its_backend() {
        let g = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]";
        assert_eq!(
            exchange_backend(g).as_deref(),
            Some("MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM")
        );
        assert_eq!(exchange_backend("* OK [x]"), None);
    }

    #[test]
    fn login_arguments_are_quoted_or_literal() {
        assert!(matches!(login_arg(r#"pa"ss\w"#), Arg::Quoted(q) if q == r#""pa\"ss\\w""#));
        assert!(matches!(login_arg("pässword"), Arg::Literal(_)));
        assert!(matches!(login_arg("a\r\nb"), Arg::Literal(_)));
        assert_eq!(literal_len("* 1 FETCH (BODY {12}"), Some(12));
        assert_eq!(literal_len("A1 LOGIN {5+}"), Some(5));
        assert_eq!(literal_len("no literal"), None);
    }
}
