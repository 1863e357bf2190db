//! SMTP replies: reading a complete (multi-line) reply as one step, and the EHLO
//! capabilities. Own code rather than lettre: lettre hides the server's exact reply
//! text and the capability lists, which are the evidence this tool reports.

use crate::net::conn::{Conn, NetError};

/// Most lines one reply may have (a hostile server could send `250-` forever).
pub const MAX_REPLY_LINES: usize = 128;
/// Most bytes one reply may have (real replies stay under a few kilobytes).
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The lines as sent, e.g. `250-PIPELINING`.
    pub lines: Vec<String>,
}

impl Reply {
    /// The whole reply as sent, lines joined by newlines.
    pub fn raw(&self) -> String {
        self.lines.join("\n")
    }
    /// The text after the codes, one string.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.get(4..).unwrap_or_default().trim())
            .collect::<Vec<_>>()
            .join(" ")
    }
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// Parses `DDD-text` / `DDD text` / `DDD`; returns the code and whether more lines follow.
pub fn parse_line(line: &str) -> Option<(u16, bool)> {
    let b = line.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&b[0]) {
        return None;
    }
    let code = line.get(..3)?.parse().ok()?;
    match b.get(3) {
        None | Some(b' ') => Some((code, false)),
        Some(b'-') => Some((code, true)),
        _ => None,
    }
}

/// Reads one complete reply within one step timeout.
pub async fn read_reply(conn: &mut Conn, phase: &str) -> Result<Reply, NetError> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut lines: Vec<String> = Vec::new();
    let mut total = 0usize;
    loop {
        let line = conn.read_line_until(phase, deadline).await?;
        let Some((code, more)) = parse_line(&line) else {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("`{}` is not an SMTP reply line", excerpt(&line)),
            });
        };
        if let Some(first) = lines.first() {
            if parse_line(first.as_str()).map(|(c, _)| c) != Some(code) {
                return Err(NetError::Protocol {
                    phase: phase.into(),
                    what: "a multi-line reply changed its code midway".into(),
                });
            }
        }
        total += line.len();
        lines.push(line);
        if !more {
            return Ok(Reply { code, lines });
        }
        if total > MAX_REPLY_BYTES {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("a reply of more than {MAX_REPLY_BYTES} bytes"),
            });
        }
        if lines.len() >= MAX_REPLY_LINES {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("a reply of more than {MAX_REPLY_LINES} lines"),
            });
        }
    }
}

/// A short, printable excerpt of a line for messages.
pub fn excerpt(line: &str) -> String {
    let s: String = line
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(60)
        .collect();
    if line.chars().count() > 60 {
        format!("{s}...")
    } else {
        s
    }
}

/// What an EHLO reply advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    pub auth: Vec<String>,
    pub starttls: bool,
    pub lines: Vec<String>,
}

pub fn capabilities(reply: &Reply) -> Capabilities {
    let mut caps = Capabilities::default();
    for line in reply.lines.iter().skip(1) {
        let text = line.get(4..).unwrap_or_default().trim();
        caps.lines.push(text.to_string());
        let upper = text.to_ascii_uppercase();
        if upper == "STARTTLS" {
            caps.starttls = true;
        }
        let mech = upper
            .strip_prefix("AUTH ")
            .or_else(|| upper.strip_prefix("AUTH="));
        if let Some(m) = mech {
            for w in m.split_whitespace() {
                if !caps.auth.iter().any(|x| x == w) {
                    caps.auth.push(w.to_string());
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
    fn reply_lines_parse() {
        assert_eq!(parse_line("250-PIPELINING"), Some((250, true)));
        assert_eq!(
            parse_line("535 5.7.139 Authentication unsuccessful"),
            Some((535, false))
        );
        assert_eq!(parse_line("220"), Some((220, false)));
        for bad in [
            "",
            "25",
            "abc def",
            "250x",
            "999 no",
            "\u{0}\u{1}\u{2}",
            "2é0 x",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn exchange_ehlo_after_tls_offers_login_and_xoauth2() {
        let r = Reply {
            code: 250,
            lines: vec![
                "250-LO4P302CA0005.outlook.office365.com Hello [98.217.221.170]".into(),
                "250-SIZE 157286400".into(),
                "250-AUTH LOGIN XOAUTH2".into(),
                "250 SMTPUTF8".into(),
            ],
        };
        let c = capabilities(&r);
        assert_eq!(c.auth, ["LOGIN", "XOAUTH2"]);
        assert!(!c.starttls);
    }
}
