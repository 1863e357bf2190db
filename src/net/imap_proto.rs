//! IMAP response parsing and command encoding (RFC 3501, 9051, 7888, 4959).
//!
//! Reads one response line at a time (tagged, untagged, continuation), literal
//! announcements and capability lists; plans LOGIN with quoted strings or
//! literals; decodes the Exchange Online greeting tag. No I/O, no panics, and
//! credentials appear only in the bytes to send, never in a redacted form.

use super::{strip_eol, ProtoError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// Longest response line accepted.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Largest literal a server may announce.
pub const MAX_LITERAL: usize = 1024 * 1024;
/// Longest credential sent as a quoted string; longer ones go as literals.
pub const MAX_QUOTED: usize = 256;
/// Most capabilities kept from one list.
pub const MAX_CAPABILITIES: usize = 512;
const MAX_TAG_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `* KEYWORD text` or `* NUMBER text` (greetings `* OK`, `* PREAUTH`,
    /// `* BYE` included). The keyword is uppercased; `text` is everything
    /// after it, a response code included.
    Untagged {
        keyword_or_number: String,
        text: String,
    },
    /// `TAG OK|NO|BAD [CODE] text`: `code` is what the brackets hold (e.g.
    /// `AUTHENTICATIONFAILED`, `CAPABILITY IMAP4rev1 ...`), `text` what follows.
    Tagged {
        tag: String,
        status: Status,
        code: Option<String>,
        text: String,
    },
    /// `+ text` (the text may be empty or base64).
    Continuation(String),
}

impl Response {
    /// The response code of a tagged response or of an untagged status
    /// response (`* OK [ALERT] ...`).
    pub fn code(&self) -> Option<&str> {
        match self {
            Response::Tagged { code, .. } => code.as_deref(),
            Response::Untagged {
                keyword_or_number,
                text,
            } if matches!(
                keyword_or_number.as_str(),
                "OK" | "NO" | "BAD" | "PREAUTH" | "BYE"
            ) =>
            {
                split_code(text).0
            }
            _ => None,
        }
    }
}

/// A byte allowed in an atom (RFC 3501 ATOM-CHAR).
fn is_atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"(){%*\"\\]".contains(&b)
}

/// Splits a leading `[code]` off a response text: (code, rest).
pub fn split_code(text: &str) -> (Option<&str>, &str) {
    let Some(inner) = text.strip_prefix('[') else {
        return (None, text);
    };
    match inner.find(']') {
        Some(end) => {
            let rest = &inner[end + 1..];
            (Some(&inner[..end]), rest.strip_prefix(' ').unwrap_or(rest))
        }
        None => (None, text),
    }
}

/// Parses one response line (a trailing CRLF is removed).
pub fn parse_response(line: &str) -> Result<Response, ProtoError> {
    let line = strip_eol(line);
    if line.len() > MAX_LINE_BYTES {
        return Err(ProtoError::TooLong {
            what: "IMAP response line",
            limit: MAX_LINE_BYTES,
            unit: "bytes",
        });
    }
    if let Some(rest) = line.strip_prefix('+') {
        return Ok(Response::Continuation(
            rest.strip_prefix(' ').unwrap_or(rest).to_string(),
        ));
    }
    if let Some(rest) = line.strip_prefix("* ") {
        let (keyword, text) = rest.split_once(' ').unwrap_or((rest, ""));
        if keyword.is_empty() || !keyword.bytes().all(is_atom_char) {
            return Err(ProtoError::malformed("IMAP untagged response", line));
        }
        return Ok(Response::Untagged {
            keyword_or_number: keyword.to_ascii_uppercase(),
            text: text.to_string(),
        });
    }
    let (tag, rest) = line
        .split_once(' ')
        .ok_or_else(|| ProtoError::malformed("IMAP response", line))?;
    if tag.is_empty()
        || tag.len() > MAX_TAG_LEN
        || !tag.bytes().all(|b| is_atom_char(b) && b != b'+')
    {
        return Err(ProtoError::malformed("IMAP response tag", line));
    }
    let (word, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = if word.eq_ignore_ascii_case("OK") {
        Status::Ok
    } else if word.eq_ignore_ascii_case("NO") {
        Status::No
    } else if word.eq_ignore_ascii_case("BAD") {
        Status::Bad
    } else {
        return Err(ProtoError::malformed("IMAP tagged status", line));
    };
    let (code, text) = split_code(text);
    Ok(Response::Tagged {
        tag: tag.to_string(),
        status,
        code: code.map(str::to_string),
        text: text.to_string(),
    })
}

/// The literal a line announces at its end, `{N}` or `{N+}` (non-synchronizing):
/// (N, non_sync). None when there is none; an announcement over `MAX_LITERAL`
/// is an error.
pub fn check_literal(line: &str) -> Result<Option<(usize, bool)>, ProtoError> {
    let line = strip_eol(line);
    let Some(body) = line.strip_suffix('}') else {
        return Ok(None);
    };
    let Some(open) = body.rfind('{') else {
        return Ok(None);
    };
    let inner = &body[open + 1..];
    let (digits, non_sync) = match inner.strip_suffix('+') {
        Some(d) => (d, true),
        None => (inner, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let too_long = ProtoError::TooLong {
        what: "IMAP literal",
        limit: MAX_LITERAL,
        unit: "bytes",
    };
    match digits.parse::<usize>() {
        Ok(n) if n <= MAX_LITERAL => Ok(Some((n, non_sync))),
        _ => Err(too_long),
    }
}

/// Like `check_literal`, but an oversized announcement is also None: use
/// `check_literal` where that must end the session.
pub fn literal_announcement(line: &str) -> Option<(usize, bool)> {
    check_literal(line).ok().flatten()
}

/// Capabilities, uppercased and without duplicates, from `* CAPABILITY ...`,
/// the text after the keyword, `CAPABILITY ...` (a tagged response's code), or
/// any text holding `[CAPABILITY ...]` (a greeting or a tagged OK).
pub fn capabilities(text: &str) -> Vec<String> {
    let text = strip_eol(text);
    let upper = text.to_ascii_uppercase();
    let list = if let Some(at) = upper.find("[CAPABILITY") {
        let after = &upper[at + "[CAPABILITY".len()..];
        match after.find(']') {
            Some(end) => &after[..end],
            None => after,
        }
    } else {
        let rest = upper.strip_prefix("* ").unwrap_or(&upper);
        match rest.strip_prefix("CAPABILITY") {
            Some(r) if r.is_empty() || r.starts_with(' ') => r,
            _ => rest,
        }
    };
    let mut caps: Vec<String> = Vec::new();
    for word in list.split_ascii_whitespace() {
        if caps.len() >= MAX_CAPABILITIES {
            break;
        }
        if word.bytes().all(is_atom_char) && !caps.iter().any(|c| c == word) {
            caps.push(word.to_string());
        }
    }
    caps
}

/// Whether `s` can go as a quoted string: 7-bit, no CR, LF or NUL, not long.
pub fn is_quotable(s: &str) -> bool {
    s.len() <= MAX_QUOTED
        && s.bytes()
            .all(|b| (0x01..0x80).contains(&b) && b != b'\r' && b != b'\n')
}

/// `s` as a quoted string (`\` and `"` escaped), or None when it needs a literal.
pub fn quote(s: &str) -> Option<String> {
    is_quotable(s).then(|| quote_into(s, String::with_capacity(s.len() + 2)))
}

fn quote_into(s: &str, mut out: String) -> String {
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One line of a LOGIN plan: write `bytes` (CRLF included), then, when
/// `wait_continuation` is set, wait for a `+` before writing the next line.
#[derive(Clone)]
pub struct PlanLine {
    pub bytes: Zeroizing<Vec<u8>>,
    pub wait_continuation: bool,
    /// What the transcript shows for this line: the password is `<redacted>`.
    pub redacted: String,
}

impl std::fmt::Debug for PlanLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanLine")
            .field("redacted", &self.redacted)
            .field("wait_continuation", &self.wait_continuation)
            .finish_non_exhaustive()
    }
}

/// How to send LOGIN's two arguments. The first line starts with the user
/// argument; `prefixed` puts `TAG LOGIN ` in front.
#[derive(Debug, Clone)]
pub struct LoginPlan {
    pub lines: Vec<PlanLine>,
}

impl LoginPlan {
    /// Puts `prefix` (e.g. `A1 LOGIN `) before the first line.
    pub fn prefixed(mut self, prefix: &str) -> Self {
        if let Some(first) = self.lines.first_mut() {
            let mut bytes = Zeroizing::new(Vec::with_capacity(prefix.len() + first.bytes.len()));
            bytes.extend_from_slice(prefix.as_bytes());
            bytes.extend_from_slice(&first.bytes);
            first.bytes = bytes;
            first.redacted = format!("{prefix}{}", first.redacted);
        }
        self
    }

    /// How many `+` continuations the plan waits for.
    pub fn waits(&self) -> usize {
        self.lines.iter().filter(|l| l.wait_continuation).count()
    }
}

fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Plans `LOGIN user password`: quoted strings when safe, literals (`{N+}` with
/// LITERAL+, else `{N}` and a wait for `+`) for CR, LF, NUL, 8-bit or long
/// values. A NUL cannot be sent in an IMAP string at all (RFC 3501): such a
/// password goes as a literal and the server will refuse it.
pub fn login_args(user: &str, pass: &str, literal_plus: bool) -> LoginPlan {
    // Buffers are sized up front so that no reallocation leaves a copy behind.
    let cap = 2 * (user.len() + pass.len()) + 64;
    let fresh = || Zeroizing::new(Vec::with_capacity(cap));
    let mut lines: Vec<PlanLine> = Vec::new();
    let mut bytes: Zeroizing<Vec<u8>> = fresh();
    let mut redacted = String::new();
    let plus = if literal_plus { "+" } else { "" };

    // The user argument.
    match quote(user) {
        Some(q) => {
            bytes.extend_from_slice(q.as_bytes());
            redacted.push_str(&printable(&q));
        }
        None => {
            let ann = format!("{{{}{plus}}}", user.len());
            bytes.extend_from_slice(ann.as_bytes());
            bytes.extend_from_slice(b"\r\n");
            redacted.push_str(&ann);
            lines.push(PlanLine {
                bytes: std::mem::replace(&mut bytes, fresh()),
                wait_continuation: !literal_plus,
                redacted: std::mem::take(&mut redacted),
            });
            bytes.extend_from_slice(user.as_bytes());
            redacted.push_str(&printable(user));
        }
    }
    bytes.push(b' ');
    redacted.push(' ');
    redacted.push_str(crate::secret::REDACTED);

    // The password argument.
    if is_quotable(pass) {
        let mut q = Zeroizing::new(String::with_capacity(2 * pass.len() + 2));
        q.push('"');
        for c in pass.chars() {
            if c == '\\' || c == '"' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        bytes.extend_from_slice(q.as_bytes());
    } else {
        bytes.extend_from_slice(format!("{{{}{plus}}}", pass.len()).as_bytes());
        bytes.extend_from_slice(b"\r\n");
        lines.push(PlanLine {
            bytes: std::mem::replace(&mut bytes, fresh()),
            wait_continuation: !literal_plus,
            redacted: std::mem::take(&mut redacted),
        });
        bytes.extend_from_slice(pass.as_bytes());
        redacted.push_str(crate::secret::REDACTED);
    }
    bytes.extend_from_slice(b"\r\n");
    lines.push(PlanLine {
        bytes,
        wait_continuation: false,
        redacted,
    });
    LoginPlan { lines }
}

/// `TAG AUTHENTICATE MECH [initial-response]` (SASL-IR, RFC 4959: an empty
/// initial response is `=`). The result carries the credential.
pub fn authenticate_command(
    tag: &str,
    mechanism: &str,
    initial: Option<&str>,
) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(
        tag.len() + mechanism.len() + 16 + initial.map_or(0, str::len),
    ));
    out.push_str(tag);
    out.push_str(" AUTHENTICATE ");
    out.push_str(mechanism);
    if let Some(ir) = initial {
        out.push(' ');
        out.push_str(if ir.is_empty() { "=" } else { ir });
    }
    out
}

/// What the transcript shows for `authenticate_command`.
pub fn authenticate_redacted(tag: &str, mechanism: &str, with_initial: bool) -> String {
    if with_initial {
        format!("{tag} AUTHENTICATE {mechanism} {}", crate::secret::REDACTED)
    } else {
        format!("{tag} AUTHENTICATE {mechanism}")
    }
}

/// The backend host Exchange Online names in its IMAP and POP3 greetings: the
/// last `[...]` holds base64 of the UTF-16LE host name. None for any other
/// greeting or when the result does not look like a host name.
pub fn exchange_backend_host(greeting: &str) -> Option<String> {
    let open = greeting.rfind('[')?;
    let after = &greeting[open + 1..];
    let inner = &after[..after.find(']')?];
    if inner.is_empty() || inner.len() > 1024 {
        return None;
    }
    let bytes = STANDARD.decode(inner).ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    let host = String::from_utf16(&units).ok()?;
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.contains('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    valid.then_some(host)
}

/// Command tags `A1`, `A2`, ...
#[derive(Debug, Clone)]
pub struct Tags {
    next: u64,
}

impl Default for Tags {
    fn default() -> Self {
        Self::new()
    }
}

impl Tags {
    pub fn new() -> Self {
        Tags { next: 1 }
    }
}

impl Iterator for Tags {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let tag = format!("A{}", self.next);
        self.next = self.next.wrapping_add(1);
        Some(tag)
    }
}

#[cfg(test)]
#[path = "imap_proto_tests.rs"]
mod tests;
