//! POP3 status lines, multi-line responses and CAPA (RFC 1939, 2449, 3206, 5034).
//!
//! Parses `+OK` / `-ERR` lines with their optional `[RESPONSE-CODE]`, assembles
//! dot-terminated multi-line responses under line and byte caps, reads CAPA,
//! and encodes USER/PASS/AUTH. No I/O, no panics; credentials never appear in
//! an error or a redacted form.

use super::{strip_eol, ProtoError};
use zeroize::Zeroizing;

/// Longest status line accepted.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most lines one multi-line response may have.
pub const MAX_MULTILINE_LINES: usize = 256;
/// Most bytes one multi-line response may have.
pub const MAX_MULTILINE_BYTES: usize = 64 * 1024;

/// A `+OK` or `-ERR` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopStatus {
    pub ok: bool,
    /// The RFC 2449 response code, e.g. `AUTH`, `IN-USE`, `SYS/TEMP`.
    pub code: Option<String>,
    /// The text after the status and the code.
    pub text: String,
}

fn is_code_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && b != b']'
}

/// Parses `+OK text` or `-ERR [CODE] text` (a trailing CRLF is removed).
pub fn parse_status(line: &str) -> Result<PopStatus, ProtoError> {
    let line = strip_eol(line);
    if line.len() > MAX_LINE_BYTES {
        return Err(ProtoError::TooLong {
            what: "POP3 status line",
            limit: MAX_LINE_BYTES,
            unit: "bytes",
        });
    }
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let ok = if word.eq_ignore_ascii_case("+OK") {
        true
    } else if word.eq_ignore_ascii_case("-ERR") {
        false
    } else {
        return Err(ProtoError::malformed("POP3 status line", line));
    };
    let (code, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((code, text)) if !code.is_empty() && code.bytes().all(is_code_char) => (
            Some(code.to_string()),
            text.strip_prefix(' ').unwrap_or(text),
        ),
        _ => (None, rest),
    };
    Ok(PopStatus {
        ok,
        code,
        text: text.to_string(),
    })
}

/// A line read during AUTH: a `+ ` challenge or the final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// The text after `+ ` (base64, possibly empty).
    Continuation(String),
    Done(PopStatus),
}

/// Parses a line received after `AUTH`: `+`, `+ challenge`, `+OK ...` or `-ERR ...`.
pub fn parse_auth_step(line: &str) -> Result<AuthStep, ProtoError> {
    let bare = strip_eol(line);
    if bare == "+" {
        return Ok(AuthStep::Continuation(String::new()));
    }
    if let Some(rest) = bare.strip_prefix("+ ") {
        if bare.len() > MAX_LINE_BYTES {
            return parse_status(bare).map(AuthStep::Done);
        }
        return Ok(AuthStep::Continuation(rest.to_string()));
    }
    parse_status(bare).map(AuthStep::Done)
}

/// Assembles a dot-terminated multi-line response (after its `+OK` line),
/// removing dot-stuffing.
#[derive(Debug, Clone)]
pub struct MultiLineReader {
    lines: Vec<String>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Default for MultiLineReader {
    fn default() -> Self {
        Self::new()
    }
}

impl MultiLineReader {
    pub fn new() -> Self {
        Self::with_limits(MAX_MULTILINE_LINES, MAX_MULTILINE_BYTES)
    }

    pub fn with_limits(max_lines: usize, max_bytes: usize) -> Self {
        MultiLineReader {
            lines: Vec::new(),
            bytes: 0,
            max_lines,
            max_bytes,
        }
    }

    /// Takes one line; returns all lines once the terminating `.` arrives.
    /// After an error the reader starts afresh.
    pub fn push(&mut self, line: &str) -> Result<Option<Vec<String>>, ProtoError> {
        let line = strip_eol(line);
        if line == "." {
            self.bytes = 0;
            return Ok(Some(std::mem::take(&mut self.lines)));
        }
        let err = if line.len() > self.max_bytes.saturating_sub(self.bytes) {
            Some(ProtoError::TooLong {
                what: "POP3 multi-line response",
                limit: self.max_bytes,
                unit: "bytes",
            })
        } else if self.lines.len() >= self.max_lines {
            Some(ProtoError::TooLong {
                what: "POP3 multi-line response",
                limit: self.max_lines,
                unit: "lines",
            })
        } else {
            None
        };
        if let Some(e) = err {
            self.lines.clear();
            self.bytes = 0;
            return Err(e);
        }
        self.bytes += line.len();
        self.lines
            .push(line.strip_prefix('.').unwrap_or(line).to_string());
        Ok(None)
    }
}

/// What CAPA advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capa {
    /// SASL mechanisms, uppercased, without duplicates.
    pub sasl: Vec<String>,
    pub stls: bool,
    pub user: bool,
    pub top: bool,
    pub uidl: bool,
    /// RESP-CODES: `-ERR` lines may carry `[CODE]`s.
    pub resp_codes: bool,
    /// AUTH-RESP-CODE: failures say `[AUTH]` when the credentials are at fault.
    pub auth_resp_code: bool,
    pub pipelining: bool,
    /// Every capability line.
    pub raw: Vec<String>,
}

impl Capa {
    /// Reads the lines of a CAPA response (without `+OK` and `.`).
    pub fn parse(lines: &[String]) -> Self {
        let mut capa = Capa {
            raw: lines.to_vec(),
            ..Capa::default()
        };
        for line in lines {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "SASL" => {
                    for m in words.map(str::to_ascii_uppercase) {
                        let valid = m.len() <= 20
                            && m.bytes().all(|b| {
                                b.is_ascii_uppercase()
                                    || b.is_ascii_digit()
                                    || b == b'-'
                                    || b == b'_'
                            });
                        if valid && !capa.sasl.contains(&m) {
                            capa.sasl.push(m);
                        }
                    }
                }
                "STLS" => capa.stls = true,
                "USER" => capa.user = true,
                "TOP" => capa.top = true,
                "UIDL" => capa.uidl = true,
                "RESP-CODES" => capa.resp_codes = true,
                "AUTH-RESP-CODE" => capa.auth_resp_code = true,
                "PIPELINING" => capa.pipelining = true,
                _ => {}
            }
        }
        capa
    }
}

/// `USER <name>`; refuses CR, LF and NUL.
pub fn user_command(user: &str) -> Result<String, ProtoError> {
    super::check_arg("POP3 user name", user)?;
    Ok(format!("USER {user}"))
}

/// `PASS <password>`; refuses CR, LF and NUL (the error names no part of it).
pub fn pass_command(password: &str) -> Result<Zeroizing<String>, ProtoError> {
    super::check_arg("POP3 password", password)?;
    let mut out = Zeroizing::new(String::with_capacity(password.len() + 5));
    out.push_str("PASS ");
    out.push_str(password);
    Ok(out)
}

/// What the transcript shows for `pass_command`.
pub fn pass_redacted() -> String {
    format!("PASS {}", crate::secret::REDACTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    // https://github.com/simonrob/email-oauth2-proxy/issues/244
    #[test]
    fn exchange_pass_failure_is_err_without_code() {
        let s = parse_status("-ERR Authentication failure: unknown user name or bad password.\r\n")
            .expect("parses");
        assert!(!s.ok);
        assert_eq!(s.code, None);
        assert_eq!(
            s.text,
            "Authentication failure: unknown user name or bad password."
        );
    }

    #[test]
    fn rfc2449_and_3206_codes_are_split_off() {
        let s = parse_status("-ERR [AUTH] Authentication failed.").expect("parses");
        assert_eq!(
            (s.ok, s.code.as_deref(), s.text.as_str()),
            (false, Some("AUTH"), "Authentication failed.")
        );
        let s = parse_status("-ERR [IN-USE] Mailbox locked").expect("parses");
        assert_eq!(s.code.as_deref(), Some("IN-USE"));
        let s = parse_status("-ERR [SYS/TEMP]").expect("parses");
        assert_eq!((s.code.as_deref(), s.text.as_str()), (Some("SYS/TEMP"), ""));
        let s = parse_status("-ERR [not a code] x").expect("parses");
        assert_eq!(s.code, None);
    }

    // https://github.com/simonrob/email-oauth2-proxy/issues/238
    #[test]
    fn exchange_greeting_is_ok_and_keeps_its_tag_in_the_text() {
        let g = "+OK The Microsoft Exchange POP3 service is ready. [UABBADcAUAAyADYANABDAEEAMAAxADMANwAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]";
        let s = parse_status(g).expect("parses");
        assert!(s.ok);
        assert_eq!(s.code, None);
        assert_eq!(
            crate::net::imap_proto::exchange_backend_host(&s.text).as_deref(),
            Some("PA7P264CA0137.FRAP264.PROD.OUTLOOK.COM")
        );
        assert_eq!(parse_status("+OK").map(|s| s.ok), Ok(true));
    }

    #[test]
    fn garbage_status_is_malformed() {
        for bad in ["", "OK", "+OKAY", "-ERRx", "* OK", "\u{1}"] {
            assert!(
                matches!(parse_status(bad), Err(ProtoError::Malformed { .. })),
                "{bad:?}"
            );
        }
        let huge = format!("+OK {}", "a".repeat(MAX_LINE_BYTES));
        assert!(matches!(
            parse_status(&huge),
            Err(ProtoError::TooLong { .. })
        ));
    }

    // https://github.com/kisli/vmime/issues/267
    #[test]
    fn exchange_capa_is_read() {
        let mut r = MultiLineReader::new();
        let mut done = None;
        for l in ["TOP\r\n", "UIDL", "SASL PLAIN XOAUTH2", "USER", ".\r\n"] {
            done = r.push(l).expect("valid");
        }
        let lines = done.expect("complete");
        let capa = Capa::parse(&lines);
        assert!(capa.top && capa.uidl && capa.user);
        assert!(!capa.stls);
        assert_eq!(capa.sasl, vec!["PLAIN", "XOAUTH2"]);
        assert_eq!(capa.raw.len(), 4);
    }

    #[test]
    fn dot_stuffing_is_removed() {
        let mut r = MultiLineReader::new();
        assert_eq!(r.push("..hidden"), Ok(None));
        assert_eq!(r.push(".x"), Ok(None));
        assert_eq!(
            r.push("."),
            Ok(Some(vec![".hidden".to_string(), "x".to_string()]))
        );
        assert_eq!(r.push("."), Ok(Some(vec![])));
    }

    #[test]
    fn endless_multi_line_response_is_capped() {
        let mut r = MultiLineReader::new();
        let err = (0..10_000).find_map(|_| r.push("STLS").err());
        assert!(matches!(
            err,
            Some(ProtoError::TooLong { unit: "lines", .. })
        ));
        let mut r = MultiLineReader::with_limits(1000, 100);
        assert_eq!(r.push(&"a".repeat(60)), Ok(None));
        assert!(matches!(
            r.push(&"a".repeat(60)),
            Err(ProtoError::TooLong { unit: "bytes", .. })
        ));
    }

    #[test]
    fn auth_steps() {
        assert_eq!(
            parse_auth_step("+"),
            Ok(AuthStep::Continuation(String::new()))
        );
        assert_eq!(
            parse_auth_step("+ \r\n"),
            Ok(AuthStep::Continuation(String::new()))
        );
        assert_eq!(
            parse_auth_step("+ VXNlcm5hbWU6"),
            Ok(AuthStep::Continuation("VXNlcm5hbWU6".into()))
        );
        // https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
        assert!(matches!(
            parse_auth_step("+OK User successfully authenticated."),
            Ok(AuthStep::Done(PopStatus { ok: true, .. }))
        ));
        // https://github.com/getmail6/getmail6/issues/256
        assert!(matches!(
            parse_auth_step("-ERR Protocol error. Connection is closed. 10"),
            Ok(AuthStep::Done(PopStatus { ok: false, .. }))
        ));
    }

    #[test]
    fn user_and_pass_refuse_line_breaks_and_redact() {
        assert_eq!(user_command("a@b.c").as_deref(), Ok("USER a@b.c"));
        assert!(user_command("a\r\nDELE 1").is_err());
        assert_eq!(
            pass_command("s3cret").map(|p| p.to_string()).as_deref(),
            Ok("PASS s3cret")
        );
        let err = pass_command("canary\nx").expect_err("refused");
        assert!(!err.to_string().contains("canary"));
        assert_eq!(pass_redacted(), "PASS <redacted>");
    }
}
