//! Normalizing server replies and pasted error texts before they are matched.
//!
//! Input is untrusted and may be anything: it is capped at `MAX_INPUT` bytes and
//! only scanned with linear-time regexes, so every call is bounded. Escaped line
//! breaks (`\n` in a Python repr) are restored, multi-line SMTP replies
//! (`535-5.7.8 ...` / `535 5.7.8 ...`) are joined, IMAP tags and server tags
//! (`[HOST.prod.outlook.com 2026-... 08DB...]`) are dropped, whitespace is
//! collapsed. Base64 that a server sent as a challenge (`334 eyJ...`, `+ eyJ...`,
//! the host tag of an Exchange greeting) is decoded, for matching only: decoded
//! text is never shown.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use regex_lite::Regex;
use std::sync::OnceLock;

/// The most of a pasted text that is looked at; the rest is ignored.
pub const MAX_INPUT: usize = 64 * 1024;

fn cached(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

macro_rules! regex {
    ($pattern:expr) => {{
        static CELL: OnceLock<Option<Regex>> = OnceLock::new();
        cached(&CELL, $pattern)
    }};
}

fn replace_all(text: &str, re: Option<&Regex>, with: &str) -> String {
    match re {
        Some(re) => re.replace_all(text, with).into_owned(),
        None => text.to_string(),
    }
}

/// The first `MAX_INPUT` bytes, cut at a character boundary.
pub(crate) fn cap(text: &str) -> &str {
    if text.len() <= MAX_INPUT {
        return text;
    }
    let mut end = MAX_INPUT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Restores line breaks and quotes that a language runtime printed escaped
/// (`b'...\n5.7.8 ...'` from Python, `\"` from JSON logs), and unifies line ends.
pub(crate) fn unescape(text: &str) -> String {
    let text = unwrap_encodings(text);
    text.replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\\r", "\n")
        .replace("\\t", " ")
        .replace("\\'", "'")
        .replace("\\\"", "\"")
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

/// The text with the encodings a wrapper adds around a reply undone: JSON's
/// `\u003c` escapes, HTML entities (an error page or a web UI's log), and URL
/// percent-encoding (an OAuth error in a redirect URL: `error_description=The%20...`).
/// Only printable ASCII is decoded, so nothing invisible can be smuggled in.
fn unwrap_encodings(text: &str) -> std::borrow::Cow<'_, str> {
    let has_json = text.contains("\\u00");
    let has_html = text.contains('&') && text.contains(';');
    let has_percent = text.contains("%20") || text.contains("%27") || text.contains("%3A");
    if !(has_json || has_html || has_percent) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    if has_json {
        for (from, to) in [
            ("\\u003c", "<"),
            ("\\u003e", ">"),
            ("\\u0026", "&"),
            ("\\u0027", "'"),
            ("\\u0022", "\""),
        ] {
            out = out.replace(from, to);
        }
    }
    if has_html {
        for (from, to) in [
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&quot;", "\""),
            ("&#39;", "'"),
            ("&#039;", "'"),
            ("&nbsp;", " "),
            ("&amp;", "&"),
        ] {
            out = out.replace(from, to);
        }
    }
    if has_percent {
        out = percent_decode_printable(&out);
    }
    std::borrow::Cow::Owned(out)
}

/// `%XX` sequences that stand for printable ASCII, decoded; others kept as written.
fn percent_decode_printable(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                if (0x20..0x7f).contains(&b) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// One line per reply: continuation lines of multi-line SMTP replies are joined
/// to their first line, IMAP tags removed, Python's `(535, b'` rewritten as `535 `.
fn logical_lines(unescaped: &str) -> Vec<String> {
    let imap_tag =
        regex!(r"^\s*(?:\*|[A-Za-z0-9][A-Za-z0-9._-]{0,31})\s+((?:OK|NO|BAD|BYE|PREAUTH)\b.*)$");
    let smtp_line = regex!(r"^\s*([2-5][0-5][0-9])([ -])\s*(.*)$");
    let enhanced_line = regex!(r"^\s*([245]\.[0-9]{1,3}\.[0-9]{1,3})\s+(.*)$");
    let open_code = regex!(r"\b([2-5][0-5][0-9])-[245]\.[0-9]");
    let python_tuple = regex!(r#"\(([2-5][0-5][0-9]), b?['"]"#);

    let mut out: Vec<String> = Vec::new();
    // The code of a multi-line SMTP reply still waiting for its last line.
    let mut open: Option<String> = None;
    for raw in unescaped.lines() {
        // Each pattern runs only on lines that can match it: a long paste has many lines.
        let raw = raw.trim_end();
        let mut line = if [", b'", ", '", ", b\"", ", \""]
            .iter()
            .any(|q| raw.contains(q))
        {
            replace_all(raw, python_tuple, "$1 ")
        } else {
            raw.to_string()
        };
        let status_word = ["OK", "NO", "BAD", "BYE", "PREAUTH"]
            .iter()
            .any(|w| line.contains(w));
        if let Some(caps) = imap_tag
            .filter(|_| status_word)
            .and_then(|re| re.captures(&line))
        {
            line = caps[1].to_string();
        }
        if let (Some(caps), Some(prev)) = (
            smtp_line
                .filter(|_| starts_with(&line, b"2345"))
                .and_then(|re| re.captures(&line)),
            out.last_mut(),
        ) {
            let code = caps[1].to_string();
            if open.as_deref() == Some(code.as_str()) {
                let mut rest = caps[3].to_string();
                if let Some(e) = enhanced_line
                    .filter(|_| starts_with(&rest, b"245"))
                    .and_then(|re| re.captures(&rest))
                {
                    if prev.contains(&e[1]) {
                        rest = e[2].to_string();
                    }
                }
                prev.push(' ');
                prev.push_str(&rest);
                open = (&caps[2] == "-").then_some(code);
                continue;
            }
        }
        if let (Some(caps), Some(prev)) = (
            enhanced_line
                .filter(|_| starts_with(&line, b"245"))
                .and_then(|re| re.captures(&line)),
            out.last_mut(),
        ) {
            if prev.contains(&caps[1]) {
                prev.push(' ');
                prev.push_str(&caps[2]);
                continue;
            }
        }
        open = open_code
            .filter(|_| line.contains('-'))
            .and_then(|re| re.captures_iter(&line).last())
            .map(|c| c[1].to_string());
        out.push(line);
    }
    out.into_iter()
        .map(|l| tidy(&l))
        .filter(|l| !l.is_empty())
        .collect()
}

/// `535-5.7.8` becomes `535 5.7.8`, server tags go, whitespace collapses.
fn tidy(line: &str) -> String {
    let dash = regex!(r"\b([2-5][0-5][0-9])-([245]\.[0-9])");
    let tag = regex!(
        r"\[\s*(?:Hostname=)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:\s+[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?)?(?:\s+[0-9A-Fa-f]{16})?\s*\]"
    );
    let line = if line.contains('-') {
        replace_all(line, dash, "$1 $2")
    } else {
        line.to_string()
    };
    let line = if bracket_with_dot(&line) {
        replace_all(&line, tag, " ")
    } else {
        line
    };
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether some `[...]` in `line` holds a dot, as a server tag does.
fn bracket_with_dot(line: &str) -> bool {
    line.split('[').skip(1).any(|after| {
        after
            .split(']')
            .next()
            .is_some_and(|inside| inside.contains('.'))
    })
}

/// Whether `line` has three digits in a row or a digit, a dot and a digit: what
/// a basic or an enhanced reply code needs.
fn has_code_shape(line: &str) -> bool {
    line.as_bytes().windows(3).any(|w| {
        w[0].is_ascii_digit() && (w[1].is_ascii_digit() || w[1] == b'.') && w[2].is_ascii_digit()
    })
}

/// Whether the first character after leading whitespace is one of `first`.
fn starts_with(line: &str, first: &[u8]) -> bool {
    line.trim_start()
        .bytes()
        .next()
        .is_some_and(|b| first.contains(&b))
}

/// Normalizes a reply or pasted error text for matching (see the module docs).
pub fn normalize(text: &str) -> String {
    logical_lines(&unescape(cap(text))).join(" ")
}

pub(crate) fn basic_codes(norm: &str) -> Vec<u16> {
    if !has_code_shape(norm) {
        return Vec::new();
    }
    let re = regex!(r#"(?:^|[\s(\[:'"=,])([2-5][0-5][0-9])(?:[\s\-:,'")]|$)"#);
    re.map(|re| {
        re.captures_iter(norm)
            .filter_map(|c| c[1].parse::<u16>().ok())
            .collect()
    })
    .unwrap_or_default()
}

pub(crate) fn enhanced_codes(norm: &str) -> Vec<String> {
    if !has_code_shape(norm) {
        return Vec::new();
    }
    let re = regex!(r"(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9]|$)");
    re.map(|re| re.captures_iter(norm).map(|c| c[1].to_string()).collect())
        .unwrap_or_default()
}

/// Text hidden in base64 that a server sent: SASL challenges after `334 ` (SMTP)
/// or `+ ` (IMAP, POP3), bracketed host tags (`[TQBSADEA...]`), and long lines of
/// nothing but base64 (a challenge quoted alone, possibly wrapped). Only what
/// decodes to printable text is kept (UTF-8, or UTF-16LE as Exchange writes its
/// tag). For matching only: the result is never shown, since a pasted text may
/// hold a client's credentials in base64 too.
pub(crate) fn decoded_challenges(text: &str) -> Vec<String> {
    let Some(marked) =
        regex!(r"(?m)(?:(?:^|[\s'\x22])(?:334|\+)[ \t]+|\[)([A-Za-z0-9+/]{16,}={0,2})")
    else {
        return Vec::new();
    };
    let text = cap(text);
    let mut blobs: Vec<String> = marked
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect();
    // A long challenge quoted on its own, perhaps wrapped at 76 characters.
    let mut joined = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        let t = line.trim();
        if !t.is_empty() && t.bytes().all(is_base64_byte) {
            joined.push_str(t);
            continue;
        }
        if joined.len() >= 40 {
            blobs.push(std::mem::take(&mut joined));
        }
        joined.clear();
    }
    let mut out: Vec<String> = Vec::new();
    for blob in blobs.iter().take(64) {
        if let Some(d) = decode_printable(blob) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `blob` decoded, when that gives printable text.
fn decode_printable(blob: &str) -> Option<String> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut bytes = LENIENT.decode(blob.trim_end_matches('=')).ok()?;
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    let printable = |c: char| !c.is_control() || c == '\n' || c == '\r' || c == '\t';
    // Exchange's greeting tag is the host name in UTF-16LE (trailing NUL dropped above).
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let text = if bytes.chunks(2).all(|p| p[1] == 0 && p[0] != 0) {
        bytes.chunks(2).map(|p| char::from(p[0])).collect()
    } else {
        while bytes.last() == Some(&0) {
            bytes.pop();
        }
        String::from_utf8(bytes).ok()?
    };
    (text.chars().count() >= 8 && text.chars().all(printable)).then_some(text)
}

/// The server reply inside a pasted text (an exception message, a log line), if
/// one can be found: from its code or status word to the end of that reply.
pub fn extract_reply(text: &str) -> Option<String> {
    let start = regex!(
        r"\b[2-5][0-5][0-9] [245]\.[0-9]{1,3}\.[0-9]{1,3}\b|\b[245]\.[0-9]{1,3}\.[0-9]{1,3} [A-Za-z(<]|\b[2-5][0-5][0-9] [A-Z(][A-Za-z#]|(?:^|\s)(?:NO|BAD|BYE) |(?:^|\s)[-+](?:ERR|OK)\b|\b(?:LOGIN|AUTHENTICATE) failed"
    )?;
    let trailing = regex!(r#"['")\]},;\s]+$"#);
    logical_lines(&unescape(cap(text)))
        .into_iter()
        .find_map(|line| {
            let candidate = has_code_shape(&line)
                || ["NO ", "BAD ", "BYE ", "ERR", "OK", " failed"]
                    .iter()
                    .any(|w| line.contains(w));
            if !candidate {
                return None;
            }
            let m = start.find(&line)?;
            let reply = line[m.start()..].trim_start();
            let reply = replace_all(reply, trailing, "");
            (!reply.is_empty()).then_some(reply)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_are_joined_without_repeated_codes() {
        let t = "535-5.7.8 Username and Password not accepted. Learn more at\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials x - gsmtp";
        assert_eq!(
            normalize(t),
            "535 5.7.8 Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials x - gsmtp"
        );
    }

    #[test]
    fn python_repr_is_unescaped_and_its_code_kept() {
        let t = r"smtplib.SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required. For more information, go to\n5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor a - gsmtp')";
        let n = normalize(t);
        assert!(n.contains("534 5.7.9 Application-specific password required. For more information, go to https://support"), "{n}");
        assert_eq!(basic_codes(&n), vec![534]);
    }

    #[test]
    fn server_tags_and_imap_tags_are_removed() {
        assert_eq!(
            normalize("535 5.7.139 Authentication unsuccessful [LO4P265CA0200.GBRP265.PROD.OUTLOOK.COM 2026-01-02T03:04:05.678Z 08DBB276B7E699C4]"),
            "535 5.7.139 Authentication unsuccessful"
        );
        assert_eq!(normalize("A1 NO LOGIN failed."), "NO LOGIN failed.");
        assert_eq!(normalize("* BAD [ALERT] x"), "BAD [ALERT] x");
    }

    #[test]
    fn extract_reply_finds_the_reply_inside_a_wrapper() {
        assert_eq!(
            extract_reply("Error: Invalid login: 535-5.7.8 Username and Password not accepted.\n    at SMTPConnection._formatError (index.js:1:1)").as_deref(),
            Some("535 5.7.8 Username and Password not accepted.")
        );
        assert_eq!(
            extract_reply("System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the client was not authenticated. The server response was: 5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]").as_deref(),
            Some("5.7.57 Client not authenticated to send mail.")
        );
        assert_eq!(extract_reply("the weather is nice"), None);
    }

    #[test]
    fn server_challenges_are_decoded_but_not_client_lines() {
        let t = "<= '+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=='";
        assert_eq!(
            decoded_challenges(t),
            vec![r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#]
        );
        let wrapped = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9t\nYWlsLmdvb2dsZS5jb20vIn0K";
        assert_eq!(
            decoded_challenges(wrapped),
            vec!["{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":\"https://mail.google.com/\"}\n"]
        );
        // After `334 ` (SMTP) the same way; the base64 is Google's documented challenge.
        assert_eq!(
            decoded_challenges("S: 334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K").len(),
            1
        );
        let exchange = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBSADEAUAAyADYANABDAEEAMAAxADQANgAuAEYAUgBBAFAAMgA2ADQALgBQAFIATwBEAC4ATwBVAFQATABPAE8ASwAuAEMATwBNAA==]";
        assert_eq!(
            decoded_challenges(exchange),
            vec!["MR1P264CA0146.FRAP264.PROD.OUTLOOK.COM"]
        );
        // A client's AUTH PLAIN line (NUL-separated) and short client lines stay as they are.
        assert!(
            decoded_challenges("C: AUTH PLAIN AGFsaWNlAGh1bnRlcjJodW50ZXIy\nC: aHVudGVyMg==")
                .is_empty()
        );
        assert!(decoded_challenges(
            "SunCertPathBuilderException: unable to find valid certification path"
        )
        .is_empty());
    }

    #[test]
    fn wrapper_encodings_are_undone() {
        assert_eq!(
            normalize(
                "error_description=The%20provided%20value%20for%20%27scope%27%20is%20not%20valid"
            ),
            "error_description=The provided value for 'scope' is not valid"
        );
        assert_eq!(
            normalize(r"#\u003cNet::SMTPAuthenticationError: 535 x\u003e"),
            "#<Net::SMTPAuthenticationError: 535 x>"
        );
        assert_eq!(
            normalize("SERVER -&gt; CLIENT: 535 5.7.8 &quot;no&quot;"),
            "SERVER -> CLIENT: 535 5.7.8 \"no\""
        );
        // Only printable ASCII is decoded: %00 and %0A stay as written.
        assert_eq!(normalize("a%00b%0Ac%20d"), "a%00b%0Ac d");
    }

    #[test]
    fn huge_input_is_capped_at_a_char_boundary() {
        let big = "é".repeat(MAX_INPUT);
        assert!(cap(&big).len() <= MAX_INPUT);
        assert!(normalize(&big).len() <= MAX_INPUT);
    }
}
