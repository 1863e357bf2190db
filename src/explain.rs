//! Matching server replies and pasted error texts against the signatures in the
//! knowledge base, and recognizing servers from their greetings.
//!
//! Input is untrusted and may be anything: it is capped at `MAX_INPUT` bytes and
//! only scanned with linear-time regexes, so every call is bounded. Pasted text is
//! normalized first: escaped line breaks (`\n` in a Python repr) are restored,
//! multi-line SMTP replies (`535-5.7.8 ...` / `535 5.7.8 ...`) are joined, IMAP
//! tags and server tags (`[HOST.prod.outlook.com 2026-... 08DB...]`) are dropped,
//! whitespace is collapsed. Matching is case-insensitive.
//!
//! This module only reads the knowledge base; it never prints or touches the network.

use crate::knowledge::{Knowledge, Signature};
use crate::report::model::{Explanation, SCHEMA_VERSION};
use crate::vocab::{CheckId, Finding, OverallStatus, Protocol};
use regex_lite::Regex;
use std::sync::OnceLock;

/// The most of a pasted text that is looked at; the rest is ignored.
pub const MAX_INPUT: usize = 64 * 1024;

/// A signature that matched, with its ranking score (higher is better).
pub struct Match<'a> {
    pub signature: &'a Signature,
    pub score: u32,
}

/// How much a match is trusted, from the server family it is tied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// Tied to a server family nobody has confirmed: a possible reading.
    Tentative = 0,
    /// A generic last resort.
    Fallback = 1,
    /// A generic meaning.
    Generic = 2,
    /// Tied to the server family this server was recognized as.
    Confirmed = 3,
}

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
fn cap(text: &str) -> &str {
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
fn unescape(text: &str) -> String {
    text.replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\\r", "\n")
        .replace("\\t", " ")
        .replace("\\'", "'")
        .replace("\\\"", "\"")
        .replace("\r\n", "\n")
        .replace('\r', "\n")
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
        let mut line = replace_all(raw.trim_end(), python_tuple, "$1 ");
        if let Some(caps) = imap_tag.and_then(|re| re.captures(&line)) {
            line = caps[1].to_string();
        }
        if let (Some(caps), Some(prev)) =
            (smtp_line.and_then(|re| re.captures(&line)), out.last_mut())
        {
            let code = caps[1].to_string();
            if open.as_deref() == Some(code.as_str()) {
                let mut rest = caps[3].to_string();
                if let Some(e) = enhanced_line.and_then(|re| re.captures(&rest)) {
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
            enhanced_line.and_then(|re| re.captures(&line)),
            out.last_mut(),
        ) {
            if prev.contains(&caps[1]) {
                prev.push(' ');
                prev.push_str(&caps[2]);
                continue;
            }
        }
        open = open_code
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
    let line = replace_all(line, dash, "$1 $2");
    let line = replace_all(&line, tag, " ");
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Normalizes a reply or pasted error text for matching (see the module docs).
pub fn normalize(text: &str) -> String {
    logical_lines(&unescape(cap(text))).join(" ")
}

fn basic_codes(norm: &str) -> Vec<u16> {
    let re = regex!(r#"(?:^|[\s(\[:'"=,])([2-5][0-5][0-9])(?:[\s\-:,'")]|$)"#);
    re.map(|re| {
        re.captures_iter(norm)
            .filter_map(|c| c[1].parse().ok())
            .collect()
    })
    .unwrap_or_default()
}

fn enhanced_codes(norm: &str) -> Vec<String> {
    let re = regex!(r"(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9]|$)");
    re.map(|re| re.captures_iter(norm).map(|c| c[1].to_string()).collect())
        .unwrap_or_default()
}

/// The server family whose greeting this is (e.g. "exchange-online"), if known.
pub fn fingerprint<'a>(kb: &'a Knowledge, protocol: Protocol, greeting: &str) -> Option<&'a str> {
    let first = cap(greeting).lines().next().unwrap_or("").trim();
    kb.fingerprints
        .iter()
        .find(|f| f.def.protocol == protocol && f.regex.is_match(first))
        .map(|f| f.def.id.as_str())
}

/// The server families a pasted text shows (host names in server tags, product
/// names, greetings), without duplicates, in knowledge-base order.
pub fn fingerprints_in_text<'a>(kb: &'a Knowledge, text: &str) -> Vec<&'a str> {
    let text = unescape(cap(text));
    let mut out: Vec<&str> = Vec::new();
    let greeting_hits = kb
        .fingerprints
        .iter()
        .filter(|f| text.lines().any(|l| f.regex.is_match(l.trim())));
    for id in greeting_hits.map(|f| f.def.id.as_str()).chain(
        kb.hints
            .iter()
            .filter(|h| h.regex.is_match(&text))
            .map(|h| h.def.fingerprint.as_str()),
    ) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Signatures matching `text`, best first.
///
/// `protocol` limits the search to one protocol's signatures. `fingerprint` is the
/// server family the caller recognized (from the greeting); without it, the
/// families visible in the text itself are used. Signatures tied to a family win
/// when it is confirmed, are dropped when another family is seen, and are kept as
/// lower-ranked possibilities when nothing is known; fallback signatures are
/// dropped whenever something more specific matched.
pub fn match_reply<'a>(
    kb: &'a Knowledge,
    protocol: Option<Protocol>,
    text: &str,
    fingerprint: Option<&str>,
) -> Vec<Match<'a>> {
    let norm = normalize(text);
    if norm.is_empty() {
        return Vec::new();
    }
    let basic = basic_codes(&norm);
    let enhanced = enhanced_codes(&norm);
    let seen: Vec<&str> = match fingerprint {
        Some(f) => vec![f],
        None => fingerprints_in_text(kb, text),
    };

    let mut found: Vec<(Tier, u32, &Signature)> = Vec::new();
    for sig in &kb.signatures {
        let def = &sig.def;
        if protocol.is_some_and(|p| p != def.protocol) {
            continue;
        }
        let mut specificity = def.pattern.len().min(400) as u32;
        if let Some(code) = def.code {
            if basic.contains(&code) {
                specificity += 50;
            } else if !basic.is_empty() {
                continue;
            }
        }
        if let Some(e) = &def.enhanced {
            if enhanced.iter().any(|x| x == e) {
                specificity += 50;
            } else if !enhanced.is_empty() {
                continue;
            }
        }
        // Last, as the dearest test: the codes above rule most signatures out.
        if !sig.is_match(&norm) {
            continue;
        }
        let tier = match &def.fingerprint {
            Some(fp) if seen.iter().any(|s| s == fp) => Tier::Confirmed,
            Some(_) if seen.is_empty() => Tier::Tentative,
            Some(_) => continue,
            None if def.fallback => Tier::Fallback,
            None => Tier::Generic,
        };
        found.push((tier, specificity, sig));
    }

    let best = found.iter().map(|(t, _, _)| *t).max();
    let has_generic = found.iter().any(|(t, _, _)| *t == Tier::Generic);
    found.retain(|(t, _, _)| match t {
        Tier::Fallback => best.is_some_and(|b| b <= Tier::Fallback),
        Tier::Tentative => !has_generic,
        _ => true,
    });

    let mut out: Vec<Match> = found
        .into_iter()
        .map(|(tier, specificity, sig)| {
            let rank = kb
                .diagnosis(&sig.def.diagnosis)
                .map(|d| d.rank)
                .unwrap_or(999)
                .min(999);
            Match {
                signature: sig,
                score: (tier as u32) * 1_000_000 + (1000 - rank) * 1000 + specificity.min(999),
            }
        })
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.score));
    out
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
            let m = start.find(&line)?;
            let reply = line[m.start()..].trim_start();
            let reply = replace_all(reply, trailing, "");
            (!reply.is_empty()).then_some(reply)
        })
}

/// Explains a pasted text: every matching signature becomes a finding; the
/// diagnoses follow the match order (best reading first).
pub fn explain(kb: &Knowledge, text: &str) -> Explanation {
    let matches = match_reply(kb, None, text, None);
    let findings: Vec<Finding> = matches
        .iter()
        .filter_map(|m| {
            let def = kb.diagnosis(&m.signature.def.diagnosis)?;
            Some(
                Finding::new(&def.code, def.severity, def.title.clone())
                    .with_evidence(m.signature.def.id.clone()),
            )
        })
        .collect();
    let pairs: Vec<(CheckId, &Finding)> = matches
        .iter()
        .zip(&findings)
        .map(|(m, f)| (m.signature.def.protocol.check_id(), f))
        .collect();
    let mut diagnosis = crate::diagnose::diagnose(kb, &pairs, "<user>", None, &[]);
    let order = |code: &str| {
        matches
            .iter()
            .position(|m| m.signature.def.diagnosis == code)
            .unwrap_or(usize::MAX)
    };
    diagnosis.sort_by_key(|d| order(&d.code));
    let status = if diagnosis.is_empty() {
        OverallStatus::Unknown
    } else {
        crate::diagnose::overall(&diagnosis, &[])
    };
    Explanation {
        schema_version: SCHEMA_VERSION,
        tool: crate::tool(),
        status,
        reply: extract_reply(text),
        matched: matches.iter().map(|m| m.signature.def.id.clone()).collect(),
        diagnosis,
    }
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
    fn huge_input_is_capped_at_a_char_boundary() {
        let big = "é".repeat(MAX_INPUT);
        assert!(cap(&big).len() <= MAX_INPUT);
        assert!(normalize(&big).len() <= MAX_INPUT);
    }
}
