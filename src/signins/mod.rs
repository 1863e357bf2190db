//! `signins`: reads Microsoft Entra sign-in log exports (the portal's CSV and
//! JSON downloads, Microsoft Graph `auditLogs/signIns` pages) and finds every
//! legacy (password) sign-in, explains the failures with the knowledge base,
//! and spots lockout risks, unexpected places and sign-ins no Conditional Access
//! policy covered.
//!
//! It streams: rows are read one at a time and folded into bounded aggregates
//! (`aggregate`), so memory does not grow with the size of the export. A row that
//! cannot be read is counted with its line number, never fatal. It works offline
//! and never prints: the report (`model`) goes to the pure renderers (`render`).

pub mod aggregate;
pub mod attempt;
pub mod csv_input;
pub mod csv_reader;
pub mod graph;
pub mod input;
pub mod json_input;
pub mod model;
pub mod redact;
pub mod render;
pub mod utf16;
pub mod verdict;

use chrono::{DateTime, Utc};

/// The longest text kept from one field of a row; the rest is cut.
pub const MAX_FIELD: usize = 256;

/// How a sign-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// Whether Conditional Access applied to the sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaStatus {
    Success,
    Failure,
    NotApplied,
    Unknown,
}

impl CaStatus {
    /// From the portal's words ("Not Applied") or Graph's (`notApplied`).
    pub fn parse(s: &str) -> CaStatus {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "success" => CaStatus::Success,
            "failure" => CaStatus::Failure,
            "notapplied" => CaStatus::NotApplied,
            _ => CaStatus::Unknown,
        }
    }
}

/// One sign-in, the same whatever format it came from. Text fields are cleaned
/// (control characters escaped, at most `MAX_FIELD` characters).
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The line of its input where the row starts.
    pub line: u64,
    pub time: DateTime<Utc>,
    /// The user principal name (lowercase), or the display name or id without one.
    pub user: String,
    /// `clientAppUsed` / "Client app", as written.
    pub client_app: String,
    pub ip: String,
    pub user_agent: String,
    /// ISO 3166 two-letter code, uppercase; empty when unknown.
    pub country: String,
    /// The AADSTS code; 0 for a success.
    pub error_code: u32,
    pub outcome: Outcome,
    /// What the log says, as written.
    pub failure_reason: String,
    pub ca: CaStatus,
}

/// Escapes control characters, bidirectional overrides and invisible characters
/// (as the server-text scrubber does: `\x1b`, `\u{202e}`) and cuts the text at
/// `MAX_FIELD` characters, so that nothing from an export can drive a terminal,
/// hide or reorder what it shows, or grow without bound.
pub fn clean(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(MAX_FIELD) {
        Some((cut, _)) => {
            let mut out = crate::net::scrub::escape_controls(&s[..cut]).into_owned();
            out.push('…');
            out
        }
        None => crate::net::scrub::escape_controls(s).into_owned(),
    }
}

/// The country of a location: Graph's `countryOrRegion`, or the last part of the
/// portal's combined "City, State, Country" cell; empty unless two letters.
pub fn country_code(s: &str) -> String {
    let last = s.rsplit(',').next().unwrap_or_default().trim();
    if last.len() == 2 && last.chars().all(|c| c.is_ascii_alphabetic()) {
        last.to_ascii_uppercase()
    } else {
        String::new()
    }
}

/// A sign-in time: RFC 3339 (`2025-12-04T08:19:41Z`, fractions allowed), or an ISO
/// date and time without a zone, which the exports mean as UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// An AADSTS code as the exports write it: a number, or `None` / empty for none.
pub fn parse_code(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") {
        return Some(0);
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_and_graph_words_for_conditional_access_agree() {
        assert_eq!(CaStatus::parse("Not Applied"), CaStatus::NotApplied);
        assert_eq!(CaStatus::parse("notApplied"), CaStatus::NotApplied);
        assert_eq!(CaStatus::parse("Success"), CaStatus::Success);
        assert_eq!(CaStatus::parse(""), CaStatus::Unknown);
    }

    #[test]
    fn locations_times_and_codes_parse_as_the_exports_write_them() {
        assert_eq!(country_code("Melbourne, Victoria, AU"), "AU");
        assert_eq!(country_code("de"), "DE");
        assert_eq!(country_code("Hamburg, Hamburg, Germany"), "");
        assert!(parse_time("2025-12-04T08:19:41Z").is_some());
        assert!(parse_time("2025-12-04T08:19:41.6166045Z").is_some());
        assert!(parse_time("2025-12-04 08:19:41").is_some());
        assert!(parse_time("04/12/2025").is_none());
        assert_eq!(parse_code("None"), Some(0));
        assert_eq!(parse_code("50126"), Some(50126));
        assert_eq!(parse_code("x"), None);
    }

    #[test]
    fn clean_escapes_control_characters_and_bounds_length() {
        assert_eq!(clean("a\u{1b}[31mb"), "a\\x1b[31mb");
        assert_eq!(
            clean("bob\u{202e}gpj.exe\u{2066}\u{200b}\u{9b}\u{7}\0"),
            "bob\\u{202e}gpj.exe\\u{2066}\\u{200b}\\u{9b}\\x07\\x00"
        );
        assert_eq!(clean(&"x".repeat(1000)).chars().count(), MAX_FIELD + 1);
    }
}
