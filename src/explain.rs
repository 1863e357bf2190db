//! Matching server replies and pasted error texts against the signatures in the
//! knowledge base (placeholder until the matcher lands).

use crate::knowledge::{Knowledge, Protocol, Signature};

pub struct Match<'a> {
    pub signature: &'a Signature,
    pub score: u32,
}

/// Normalizes a reply for matching.
pub fn normalize(text: &str) -> String {
    text.trim().to_string()
}

/// Signatures matching `text`, best first.
pub fn match_reply<'a>(
    kb: &'a Knowledge,
    protocol: Option<Protocol>,
    text: &str,
    _fingerprint: Option<&str>,
) -> Vec<Match<'a>> {
    let norm = normalize(text);
    kb.signatures
        .iter()
        .filter(|s| protocol.is_none_or(|p| p == s.def.protocol))
        .filter(|s| s.regex.is_match(&norm))
        .map(|s| Match {
            signature: s,
            score: s.def.pattern.len() as u32,
        })
        .collect()
}

/// The server reply inside a pasted text (e.g. inside an exception message), if any.
pub fn extract_reply(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}
