//! `explain`: what a pasted text (a server reply, a client's exception, a log
//! line) means. Every signature the text matches becomes a finding, and the
//! diagnoses follow the match order, best reading first.
//!
//! It only reads the knowledge base; it never prints or touches the network.

use crate::knowledge::matcher::match_reply;
use crate::knowledge::normalize::extract_reply;
use crate::knowledge::Knowledge;
use crate::report::model::{Explanation, Tool, SCHEMA_VERSION};
use crate::vocab::{CheckId, Finding, OverallStatus};

/// The most read from standard input for `explain`.
pub const MAX_PASTE: usize = 1 << 20;

/// Pasted bytes as text: a multibyte character cut by the read cap is dropped,
/// invalid bytes are replaced, so valid UTF-8 is never refused.
pub fn pasted_text(mut bytes: Vec<u8>) -> String {
    if let Err(e) = std::str::from_utf8(&bytes) {
        if e.error_len().is_none() {
            bytes.truncate(e.valid_up_to());
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
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
        tool: Tool::current(),
        status,
        // Pasted text may hold a server's terminal escapes: shown escaped.
        reply: extract_reply(text).map(|r| crate::net::scrub::escape_controls(&r).into_owned()),
        matched: matches.iter().map(|m| m.signature.def.id.clone()).collect(),
        diagnosis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_cut_inside_a_character_is_read_not_refused() {
        let mut cut = "é".repeat(MAX_PASTE / 2).into_bytes();
        cut.truncate(MAX_PASTE - 1);
        let text = pasted_text(cut);
        assert_eq!(text.len(), MAX_PASTE - 2);
        assert!(text.chars().all(|c| c == 'é'));
        assert_eq!(pasted_text(b"535 \xff ok".to_vec()), "535 \u{fffd} ok");
    }
}
