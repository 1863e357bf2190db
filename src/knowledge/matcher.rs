//! The compiled knowledge: reply signatures, greeting fingerprints and text hints,
//! and matching a reply or a pasted text against them, best reading first. The
//! checks (a server's live reply) and `explain` (a pasted text) share this one
//! matcher, so both read a reply the same way.

use super::normalize::{basic_codes, cap, enhanced_codes, normalize, unescape};
use super::{FingerprintDef, HintDef, Knowledge, KnowledgeError, SignatureDef};
use crate::vocab::Protocol;
// regex-lite: the knowledge base holds about a hundred patterns that each match a
// few short replies, so compiling them fast (start-up) matters more than matching
// speed; regex's full engines cost about 0.1 ms each to build.
use regex_lite::{Regex, RegexBuilder};
use std::sync::OnceLock;

#[derive(Debug)]
pub struct Fingerprint {
    pub def: FingerprintDef,
    pub regex: Regex,
}

#[derive(Debug)]
pub struct Hint {
    pub def: HintDef,
    pub regex: Regex,
}

/// A reply signature. Its pattern is compiled on first use (a run meets few of
/// them, and every one was compiled once already when the binary was built); a
/// pattern that is plain ASCII text is matched as text, case-insensitively.
#[derive(Debug)]
pub struct Signature {
    pub def: SignatureDef,
    /// The pattern, lowercased, when it is plain ASCII text (most SMTP ones are).
    text: Option<String>,
    regex: OnceLock<Option<Regex>>,
}

impl Signature {
    pub(crate) fn new(def: SignatureDef) -> Signature {
        let p = &def.pattern;
        let plain = p.is_ascii() && !p.contains(|c: char| "\\.^$|?*+()[]{}".contains(c));
        Signature {
            text: plain.then(|| p.to_ascii_lowercase()),
            def,
            regex: OnceLock::new(),
        }
    }

    pub fn is_match(&self, text: &str) -> bool {
        if let Some(plain) = &self.text {
            return text.to_ascii_lowercase().contains(plain.as_str());
        }
        self.regex
            .get_or_init(|| ci_regex(&self.def.pattern, &self.def.id).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

/// Compiles a case-insensitive pattern; the error names what the pattern belongs to.
pub(crate) fn ci_regex(pattern: &str, what: &str) -> Result<Regex, KnowledgeError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|e| KnowledgeError::Invalid(format!("{what}: bad pattern `{pattern}`: {e}")))
}

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
