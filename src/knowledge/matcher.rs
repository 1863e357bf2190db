//! The compiled knowledge: reply signatures, greeting fingerprints, text hints and
//! contexts, and matching a reply or a pasted text against them, best reading
//! first. The checks (a server's live reply) and `explain` (a pasted text, through
//! `reading`) share this one matcher, so both read a reply the same way.

use super::normalize::{basic_codes, cap, decoded_challenges, enhanced_codes, normalize, unescape};
use super::pattern::{may_match, plain_alternatives, required_text};
use super::{ContextDef, FingerprintDef, HintDef, Knowledge, KnowledgeError, SignatureDef};
use crate::vocab::Protocol;
// regex-lite: the knowledge base holds a few hundred patterns that each match a
// few short texts, so compiling them fast (start-up) matters more than matching
// speed; regex's full engines cost about 0.1 ms each to build.
use regex_lite::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// A case-insensitive pattern's regex, compiled on first use: a run meets few
/// of the knowledge base's patterns, and every one was compiled once already
/// when the binary was built (build.rs), so starting up costs none of them. A
/// pattern that does not compile matches nothing (the tests compile them all).
#[derive(Debug, Default)]
pub struct LazyRegex(OnceLock<Option<Regex>>);

impl LazyRegex {
    /// Whether `pattern` (the one this regex always stands for) matches `text`.
    fn is_match(&self, pattern: &str, what: &str, text: &str) -> bool {
        self.0
            .get_or_init(|| ci_regex(pattern, what).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

#[derive(Debug)]
pub struct Fingerprint {
    pub def: FingerprintDef,
    pub(crate) regex: LazyRegex,
    /// Text every match contains (lowercased), if the pattern has some.
    pub(crate) needles: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct Hint {
    pub def: HintDef,
    pub(crate) regex: LazyRegex,
    pub(crate) needles: Option<Vec<String>>,
}

/// What a text shows around the error (see `ContextDef`), compiled.
#[derive(Debug)]
pub struct Context {
    pub def: ContextDef,
    pub(crate) regex: LazyRegex,
    pub(crate) needles: Option<Vec<String>>,
}

impl Context {
    /// `lower` is `text` with ASCII lowercased.
    pub(crate) fn is_match_lower(&self, text: &str, lower: &str) -> bool {
        may_match(self.needles.as_deref(), lower) && self.is_match(text)
    }
    /// Whether the pattern matches `text` (normalized, see `haystack`).
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(&self.def.pattern, &self.def.id, text)
    }
}

impl Fingerprint {
    /// Whether the pattern matches `line` (one greeting line).
    pub fn is_match(&self, line: &str) -> bool {
        self.regex.is_match(&self.def.pattern, &self.def.id, line)
    }
}

impl Hint {
    pub fn is_match(&self, text: &str) -> bool {
        self.regex
            .is_match(&self.def.pattern, &self.def.fingerprint, text)
    }
}

/// A reply signature. Its pattern is compiled on first use (a run meets few of
/// them, and every one was compiled once already when the binary was built); a
/// pattern that is plain ASCII text, or alternatives of plain text, is matched as
/// text, case-insensitively.
#[derive(Debug)]
pub struct Signature {
    pub def: SignatureDef,
    /// The pattern's alternatives, lowercased, when each is plain ASCII text.
    text: Option<Vec<String>>,
    /// Otherwise, text one of which any match contains (lowercased): a text
    /// without any of them is no match, and the regex is not even compiled.
    needles: Option<Vec<String>>,
    regex: LazyRegex,
}

impl Signature {
    pub(crate) fn new(def: SignatureDef) -> Signature {
        let text = plain_alternatives(&def.pattern);
        let needles = text
            .is_none()
            .then(|| required_text(&def.pattern))
            .flatten();
        Signature {
            text,
            needles,
            def,
            regex: LazyRegex::default(),
        }
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.is_match_lower(text, &text.to_ascii_lowercase())
    }

    /// `lower` is `text` with ASCII lowercased, made once for all signatures.
    fn is_match_lower(&self, text: &str, lower: &str) -> bool {
        if let Some(alternatives) = &self.text {
            return alternatives.iter().any(|a| lower.contains(a.as_str()));
        }
        if !may_match(self.needles.as_deref(), lower) {
            return false;
        }
        self.regex.is_match(&self.def.pattern, &self.def.id, text)
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

/// How much a match is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Tier {
    /// The reply's structure read by the standards (standards.toml): correct but
    /// generic, so any other reading refines it.
    Standard = 0,
    /// Tied to a server family nobody has confirmed: a possible reading.
    Tentative = 1,
    /// A generic last resort.
    Fallback = 2,
    /// A generic meaning.
    Generic = 3,
    /// Tied to the server family this server was recognized as.
    Confirmed = 4,
    /// An AADSTS code: Microsoft's own reason, named by number.
    Coded = 5,
}

/// The server family whose greeting this is (e.g. "exchange-online"), if known.
pub fn fingerprint<'a>(kb: &'a Knowledge, protocol: Protocol, greeting: &str) -> Option<&'a str> {
    let first = cap(greeting).lines().next().unwrap_or("").trim();
    let lower = first.to_ascii_lowercase();
    kb.fingerprints
        .iter()
        .find(|f| {
            f.def.protocol == protocol
                && may_match(f.needles.as_deref(), &lower)
                && f.is_match(first)
        })
        .map(|f| f.def.id.as_str())
}

/// The server families a pasted text shows (host names in server tags, also
/// inside base64 challenges, product names, greetings), without duplicates, in
/// knowledge-base order.
pub fn fingerprints_in_text<'a>(kb: &'a Knowledge, text: &str) -> Vec<&'a str> {
    let mut text = unescape(cap(text));
    for d in decoded_challenges(&text) {
        text.push('\n');
        text.push_str(&d);
    }
    let lower = text.to_ascii_lowercase();
    let mut out: Vec<&str> = Vec::new();
    let greeting_hits = kb.fingerprints.iter().filter(|f| {
        may_match(f.needles.as_deref(), &lower) && text.lines().any(|l| f.is_match(l.trim()))
    });
    for id in greeting_hits.map(|f| f.def.id.as_str()).chain(
        kb.hints
            .iter()
            .filter(|h| may_match(h.needles.as_deref(), &lower) && h.is_match(&text))
            .map(|h| h.def.fingerprint.as_str()),
    ) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// A text made ready for matching, once: normalized, with the base64 a server
/// sent decoded and appended, lowercased, and the reply codes it shows.
pub(super) struct Prepared {
    pub(super) haystack: String,
    pub(super) lower: String,
    basic: Vec<u16>,
    enhanced: Vec<String>,
}

impl Prepared {
    pub(super) fn new(text: &str) -> Option<Prepared> {
        let mut haystack = normalize(text);
        // Codes come from the text as written: a decoded `{"status":"400"}` is no reply code.
        let basic = basic_codes(&haystack);
        let enhanced = enhanced_codes(&haystack);
        for d in decoded_challenges(text) {
            haystack.push(' ');
            haystack.push_str(&normalize(&d));
        }
        let haystack = haystack.trim().to_string();
        if haystack.is_empty() {
            return None;
        }
        Some(Prepared {
            lower: haystack.to_ascii_lowercase(),
            haystack,
            basic,
            enhanced,
        })
    }
}

/// The text as signatures and contexts see it (normalized, challenges decoded).
pub fn haystack(text: &str) -> String {
    Prepared::new(text).map(|p| p.haystack).unwrap_or_default()
}

/// A reading before it is scored.
pub(super) struct Candidate<'a> {
    pub(super) tier: Tier,
    pub(super) specificity: u32,
    pub(super) signature: Option<&'a Signature>,
    pub(super) id: String,
    pub(super) diagnosis: &'a str,
    pub(super) source: &'static str,
    /// The context that changed the reading, and the signature's own diagnosis.
    pub(super) context: Option<(&'a str, &'a str)>,
}

/// Signatures matching the prepared text; see `match_reply` for the tiers.
pub(super) fn signature_candidates<'a>(
    kb: &'a Knowledge,
    protocol: Option<Protocol>,
    p: &Prepared,
    seen: &[&str],
) -> Vec<Candidate<'a>> {
    let mut found = Vec::new();
    for sig in &kb.signatures {
        let def = &sig.def;
        if protocol.is_some() && def.protocol.protocol() != protocol {
            continue;
        }
        let mut specificity = def.pattern.len().min(400) as u32;
        if let Some(code) = def.code {
            if p.basic.contains(&code) {
                specificity += 50;
            } else if !p.basic.is_empty() {
                continue;
            }
        }
        if let Some(e) = &def.enhanced {
            if p.enhanced.iter().any(|x| x == e) {
                specificity += 50;
            } else if !p.enhanced.is_empty() {
                continue;
            }
        }
        // Last, as the dearest test: the codes above rule most signatures out.
        if !sig.is_match_lower(&p.haystack, &p.lower) {
            continue;
        }
        let tier = match &def.fingerprint {
            _ if def.standard => Tier::Standard,
            Some(fp) if seen.iter().any(|s| s == fp) => Tier::Confirmed,
            Some(_) if seen.is_empty() => Tier::Tentative,
            Some(_) => continue,
            None if def.fallback => Tier::Fallback,
            None => Tier::Generic,
        };
        found.push(Candidate {
            tier,
            specificity,
            signature: Some(sig),
            id: def.id.clone(),
            diagnosis: def.diagnosis.as_str(),
            source: def.protocol.as_str(),
            context: None,
        });
    }
    found
}

/// Fallback readings go when anything better matched (client-side ones also when
/// a standard reading of the reply's code exists); tentative ones (tied to an unconfirmed server family) and
/// standard ones (the reply's structure alone) go when a generic or better reading
/// exists.
pub(super) fn drop_weaker(found: &mut Vec<Candidate>) {
    let best = found.iter().map(|c| c.tier).max();
    let has_generic = found.iter().any(|c| c.tier >= Tier::Generic);
    // A reply code read by the standards is firmer evidence than a client-side
    // fallback's vague words ("authentication failed" around a 451).
    let has_standard = found.iter().any(|c| c.tier == Tier::Standard);
    let client_side = |c: &Candidate| {
        c.signature
            .is_some_and(|s| s.def.protocol == super::Channel::Client)
    };
    found.retain(|c| match c.tier {
        Tier::Fallback => {
            best.is_some_and(|b| b <= Tier::Fallback) && !(has_standard && client_side(c))
        }
        Tier::Tentative | Tier::Standard => !has_generic,
        _ => true,
    });
}

pub(super) fn score(kb: &Knowledge, c: &Candidate) -> u32 {
    let rank = kb
        .diagnosis(c.diagnosis)
        .map(|d| d.rank)
        .unwrap_or(999)
        .min(999);
    (c.tier as u32) * 1_000_000 + (1000 - rank) * 1000 + c.specificity.min(999)
}

/// Signatures matching `text`, best first.
///
/// `protocol` limits the search to one protocol's replies (client-side
/// signatures are then left out: a live check reads a server's reply). `fingerprint`
/// is the server family the caller recognized (from the greeting); without it, the
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
    let Some(p) = Prepared::new(text) else {
        return Vec::new();
    };
    let seen: Vec<&str> = match fingerprint {
        Some(f) => vec![f],
        None => fingerprints_in_text(kb, text),
    };
    let mut found = signature_candidates(kb, protocol, &p, &seen);
    drop_weaker(&mut found);
    let mut out: Vec<Match> = found
        .iter()
        .filter_map(|c| {
            Some(Match {
                signature: c.signature?,
                score: score(kb, c),
            })
        })
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.score));
    out
}
