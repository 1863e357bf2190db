//! SMTP reply parsing and command encoding (RFC 5321, 3463, 4954).
//!
//! `ReplyReader` assembles multi-line replies one line at a time and bounds their
//! size; `Capabilities` reads an EHLO reply; `choose_auth` picks the mechanism.
//! No I/O here, and no credential ever appears in an error or a redacted form.

use super::{check_arg, strip_eol, ProtoError};
use zeroize::Zeroizing;

/// Most lines one reply may have.
pub const MAX_REPLY_LINES: usize = 256;
/// Most bytes (text of all lines) one reply may have.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// One complete server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The RFC 3463 enhanced status code at the start of the first line's text,
    /// such as `5.7.139`.
    pub enhanced: Option<String>,
    /// The text after `NNN-` / `NNN ` of each line (empty for a bare `NNN`).
    pub lines: Vec<String>,
}

impl Reply {
    /// All lines' text joined with a space.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// The reply as the server sent it, lines joined with `\n` (a bare `NNN`
    /// comes back as `NNN`).
    pub fn raw(&self) -> String {
        let last = self.lines.len().saturating_sub(1);
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let sep = if i == last { ' ' } else { '-' };
            out.push_str(&self.code.to_string());
            if !(line.is_empty() && i == last) {
                out.push(sep);
                out.push_str(line);
            }
        }
        out
    }

    /// The text without the enhanced code each line repeats, lines joined with
    /// a space: the message a person reads.
    pub fn message(&self) -> String {
        let mut parts: Vec<&str> = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let rest = match &self.enhanced {
                Some(code) => line.strip_prefix(code.as_str()).unwrap_or(line),
                None => line,
            };
            let rest = rest.trim();
            if !rest.is_empty() {
                parts.push(rest);
            }
        }
        parts.join(" ")
    }

    /// 2yz: the command succeeded.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3yz: the server waits for more (334 in AUTH, 354 in DATA).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4yz: a transient failure.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5yz: a permanent failure.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }
}

/// Finds an enhanced status code (`class.subject.detail`) at the start of `text`.
pub fn enhanced_code(text: &str) -> Option<String> {
    let word = text.split(' ').next()?;
    let mut parts = word.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !matches!(class, "2" | "4" | "5") {
        return None;
    }
    let digits = |s: &str| (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    (digits(subject) && digits(detail)).then(|| word.to_string())
}

/// Splits `NNN-text`, `NNN text` or `NNN` into (code, is_last, text).
fn split_line(line: &str) -> Result<(u16, bool, &str), ProtoError> {
    let bytes = line.as_bytes();
    let code_ok = bytes.len() >= 3
        && (b'2'..=b'5').contains(&bytes[0])
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit();
    if !code_ok {
        return Err(ProtoError::malformed("SMTP reply line", line));
    }
    let code = bytes[..3]
        .iter()
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    // The first three bytes are ASCII digits, so index 3 is a char boundary.
    match bytes.get(3) {
        None => Ok((code, true, "")),
        Some(b' ') => Ok((code, true, &line[4..])),
        Some(b'-') => Ok((code, false, &line[4..])),
        Some(_) => Err(ProtoError::malformed("SMTP reply line", line)),
    }
}

/// Assembles replies from lines, one `push` per line received.
#[derive(Debug, Clone)]
pub struct ReplyReader {
    code: Option<u16>,
    lines: Vec<String>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Default for ReplyReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyReader {
    pub fn new() -> Self {
        Self::with_limits(MAX_REPLY_LINES, MAX_REPLY_BYTES)
    }

    pub fn with_limits(max_lines: usize, max_bytes: usize) -> Self {
        ReplyReader {
            code: None,
            lines: Vec::new(),
            bytes: 0,
            max_lines,
            max_bytes,
        }
    }

    /// True when no reply is half-read.
    pub fn is_idle(&self) -> bool {
        self.code.is_none()
    }

    /// Takes one line (a trailing CRLF or LF is removed). Returns the reply once
    /// its last line arrives. After an error the reader starts afresh.
    pub fn push(&mut self, line: &str) -> Result<Option<Reply>, ProtoError> {
        let result = self.push_inner(strip_eol(line));
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn push_inner(&mut self, line: &str) -> Result<Option<Reply>, ProtoError> {
        if line.len() > self.max_bytes.saturating_sub(self.bytes) {
            return Err(ProtoError::TooLong {
                what: "SMTP reply",
                limit: self.max_bytes,
                unit: "bytes",
            });
        }
        if self.lines.len() >= self.max_lines {
            return Err(ProtoError::TooLong {
                what: "SMTP reply",
                limit: self.max_lines,
                unit: "lines",
            });
        }
        let (code, last, text) = split_line(line)?;
        if let Some(first) = self.code {
            if first != code {
                return Err(ProtoError::CodeMismatch { first, got: code });
            }
        }
        self.code = Some(code);
        self.bytes += line.len();
        self.lines.push(text.to_string());
        if !last {
            return Ok(None);
        }
        let lines = std::mem::take(&mut self.lines);
        self.reset();
        let enhanced = lines.first().and_then(|l| enhanced_code(l));
        Ok(Some(Reply {
            code,
            enhanced,
            lines,
        }))
    }

    fn reset(&mut self) {
        self.code = None;
        self.lines.clear();
        self.bytes = 0;
    }
}

/// What an EHLO reply advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// SASL mechanisms, uppercased, without duplicates, in the server's order.
    pub auth_mechanisms: Vec<String>,
    pub starttls: bool,
    pub pipelining: bool,
    /// `SIZE` limit in bytes; `Some(0)` when SIZE is advertised without a number.
    pub size: Option<u64>,
    pub enhanced_status_codes: bool,
    /// Every extension line (the first, greeting line of the reply excluded).
    pub raw: Vec<String>,
}

/// Longest SASL mechanism name (RFC 4422 allows 20 characters).
const MAX_MECH_LEN: usize = 20;

fn is_mechanism_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_MECH_LEN
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Capabilities {
    /// Reads the extension lines of an EHLO reply (its first line is the greeting).
    pub fn from_ehlo(reply: &Reply) -> Self {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            caps.raw.push(line.clone());
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            let mut mechs: Vec<String> = Vec::new();
            if keyword == "AUTH" {
                mechs.extend(words.map(str::to_ascii_uppercase));
            } else if let Some(first) = keyword.strip_prefix("AUTH=") {
                mechs.push(first.to_string());
                mechs.extend(words.map(str::to_ascii_uppercase));
            } else {
                match keyword.as_str() {
                    "STARTTLS" => caps.starttls = true,
                    "PIPELINING" => caps.pipelining = true,
                    "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                    "SIZE" => {
                        caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0))
                    }
                    _ => {}
                }
            }
            for m in mechs {
                if is_mechanism_name(&m) && !caps.auth_mechanisms.contains(&m) {
                    caps.auth_mechanisms.push(m);
                }
            }
        }
        caps
    }

    /// Whether an extension keyword (case-insensitive) is advertised.
    pub fn has(&self, keyword: &str) -> bool {
        self.raw.iter().any(|l| {
            l.split_ascii_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        })
    }

    pub fn offers(&self, mechanism: Mechanism) -> bool {
        self.auth_mechanisms.iter().any(|m| m == mechanism.name())
    }
}

/// The SASL mechanisms this tool can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    XOAuth2,
}

impl Mechanism {
    /// The registered name, as sent after `AUTH`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Picks the mechanism: XOAUTH2 when a token is used; for a password PLAIN
/// (one round trip with an initial response), then LOGIN. None when nothing
/// usable is advertised.
pub fn choose_auth(caps: &Capabilities, has_token: bool) -> Option<Mechanism> {
    let order: &[Mechanism] = if has_token {
        &[Mechanism::XOAuth2]
    } else {
        &[Mechanism::Plain, Mechanism::Login]
    };
    order.iter().copied().find(|&m| caps.offers(m))
}

/// `EHLO <domain>`.
pub fn ehlo(domain: &str) -> Result<String, ProtoError> {
    check_arg("EHLO domain", domain)?;
    Ok(format!("EHLO {domain}"))
}

/// `AUTH <MECH>` or `AUTH <MECH> <initial response>` (RFC 4954; an empty
/// initial response is sent as `=`). The result carries the credential.
pub fn auth_command(mechanism: Mechanism, initial: Option<&str>) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(16 + initial.map_or(0, str::len)));
    out.push_str("AUTH ");
    out.push_str(mechanism.name());
    if let Some(ir) = initial {
        out.push(' ');
        out.push_str(if ir.is_empty() { "=" } else { ir });
    }
    out
}

/// What the client does next in an `AUTH LOGIN` exchange, given the server's
/// reply (its code and, for 334, the decoded challenge). The exchange opens with
/// the username as the initial response (RFC 4954); a server that refuses that
/// form as a syntax error has seen no credentials, so the plain form is tried once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStep {
    /// Send the username (a server that ignored the initial response asks again).
    User,
    /// Send the password.
    Password,
    /// Open the exchange again without an initial response.
    WithoutInitialResponse,
    /// The reply ends the exchange: report it.
    Done,
}

/// The next step after `code` (with `challenge` decoded when it is 334);
/// `initial` says whether the exchange was opened with the initial response and
/// `user_sent` whether the username has gone (as the initial response or after a
/// prompt). A prompt never gets the password before the username has gone.
pub fn login_step(code: u16, challenge: Option<&str>, initial: bool, user_sent: bool) -> LoginStep {
    match code {
        334 => {
            let asks_user = challenge
                .map(|c| c.trim().to_ascii_lowercase().starts_with("user"))
                .unwrap_or(false);
            if !user_sent || asks_user {
                LoginStep::User
            } else {
                LoginStep::Password
            }
        }
        500 | 501 | 504 if initial && user_sent => LoginStep::WithoutInitialResponse,
        _ => LoginStep::Done,
    }
}

/// What the transcript shows for `auth_command`.
pub fn auth_command_redacted(mechanism: Mechanism, with_initial: bool) -> String {
    if with_initial {
        format!("AUTH {} {}", mechanism.name(), crate::secret::REDACTED)
    } else {
        format!("AUTH {}", mechanism.name())
    }
}

#[cfg(test)]
#[path = "smtp_proto_tests.rs"]
mod tests;
