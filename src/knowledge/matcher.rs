//! The compiled knowledge: reply signatures, greeting fingerprints, text hints and
//! contexts, and matching a reply or a pasted text against them, best reading
//! first. The checks (a server's live reply) and `explain` (a pasted text) share
//! this one matcher, so both read a reply the same way; a pasted text is also read
//! for client-side signatures, AADSTS codes (entra.toml) and its context.

use super::normalize::{basic_codes, cap, decoded_challenges, enhanced_codes, normalize, unescape};
use super::{ContextDef, FingerprintDef, HintDef, Knowledge, KnowledgeError, SignatureDef};
use crate::vocab::Protocol;
// regex-lite: the knowledge base holds a few hundred patterns that each match a
// few short texts, so compiling them fast (start-up) matters more than matching
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

/// What a text shows around the error (see `ContextDef`), compiled.
#[derive(Debug)]
pub struct Context {
    pub def: ContextDef,
    pub regex: Regex,
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
    regex: OnceLock<Option<Regex>>,
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
            regex: OnceLock::new(),
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
        if let Some(needles) = &self.needles {
            if !needles.iter().any(|n| lower.contains(n.as_str())) {
                return false;
            }
        }
        self.regex
            .get_or_init(|| ci_regex(&self.def.pattern, &self.def.id).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

/// `a|b\.c` as ["a", "b.c"] (lowercased) when every alternative is plain text:
/// no metacharacter but `|` and backslash-escaped punctuation.
fn plain_alternatives(pattern: &str) -> Option<Vec<String>> {
    if !pattern.is_ascii() {
        return None;
    }
    let mut out = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => chars.next().filter(|n| n.is_ascii_punctuation())?,
            '|' => {
                out.push(String::new());
                continue;
            }
            '.' | '^' | '$' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}' => return None,
            c => c,
        };
        out.last_mut()?.push(literal.to_ascii_lowercase());
    }
    (!out.iter().any(String::is_empty)).then_some(out)
}

/// For each top-level alternative of `pattern`, the longest run of text every
/// match of it contains (lowercased), when each such run is at least 3 ASCII
/// characters long: `\bquery\w* EREFUSED\b` gives [" erefused"].
fn required_text(pattern: &str) -> Option<Vec<String>> {
    if !pattern.is_ascii() {
        return None;
    }
    let mut out = Vec::new();
    for branch in top_level_alternatives(pattern) {
        let mut best = String::new();
        let mut run = String::new();
        let mut chars = branch.chars().peekable();
        let end_run = |run: &mut String, best: &mut String| {
            if run.len() > best.len() {
                *best = run.clone();
            }
            run.clear();
        };
        while let Some(c) = chars.next() {
            let literal = match c {
                '\\' => match chars.next() {
                    Some(n) if n.is_ascii_punctuation() => Some(n),
                    _ => None,
                },
                '(' | '[' => {
                    // Skip the group or class: what it matches is not fixed text.
                    let close = if c == '(' { ')' } else { ']' };
                    let mut depth = 1;
                    while let Some(n) = chars.next() {
                        match n {
                            '\\' => {
                                chars.next();
                            }
                            n if n == c => depth += 1,
                            n if n == close => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    None
                }
                '.' | '^' | '$' | '|' | ')' | ']' => None,
                '?' | '*' | '{' => {
                    // (The character before it was already left out, by the peek below.)
                    if c == '{' {
                        for n in chars.by_ref() {
                            if n == '}' {
                                break;
                            }
                        }
                    }
                    None
                }
                '+' => None,
                c => Some(c),
            };
            // A character a quantifier may drop or repeat is not required text.
            match literal {
                Some(l) if !matches!(chars.peek(), Some('?' | '*' | '{')) => {
                    run.push(l.to_ascii_lowercase())
                }
                _ => end_run(&mut run, &mut best),
            }
        }
        end_run(&mut run, &mut best);
        if best.len() < 3 {
            return None;
        }
        out.push(best);
    }
    Some(out)
}

/// `a|b(c|d)|e` as ["a", "b(c|d)", "e"].
fn top_level_alternatives(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut in_class, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => {
                out.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&pattern[start..]);
    out
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
enum Tier {
    /// Tied to a server family nobody has confirmed: a possible reading.
    Tentative = 0,
    /// A generic last resort.
    Fallback = 1,
    /// A generic meaning.
    Generic = 2,
    /// Tied to the server family this server was recognized as.
    Confirmed = 3,
    /// An AADSTS code: Microsoft's own reason, named by number.
    Coded = 4,
}

/// The server family whose greeting this is (e.g. "exchange-online"), if known.
pub fn fingerprint<'a>(kb: &'a Knowledge, protocol: Protocol, greeting: &str) -> Option<&'a str> {
    let first = cap(greeting).lines().next().unwrap_or("").trim();
    kb.fingerprints
        .iter()
        .find(|f| f.def.protocol == protocol && f.regex.is_match(first))
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

/// A text made ready for matching, once: normalized, with the base64 a server
/// sent decoded and appended, lowercased, and the reply codes it shows.
struct Prepared {
    haystack: String,
    lower: String,
    basic: Vec<u16>,
    enhanced: Vec<String>,
}

impl Prepared {
    fn new(text: &str) -> Option<Prepared> {
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
pub(crate) fn haystack(text: &str) -> String {
    Prepared::new(text).map(|p| p.haystack).unwrap_or_default()
}

/// A reading before it is scored.
struct Candidate<'a> {
    tier: Tier,
    specificity: u32,
    signature: Option<&'a Signature>,
    id: String,
    diagnosis: &'a str,
    source: &'static str,
    context: Option<&'a str>,
}

/// Signatures matching the prepared text; see `match_reply` for the tiers.
fn signature_candidates<'a>(
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

/// Fallback readings go when anything better matched; tentative ones (tied to an
/// unconfirmed server family) go when a generic or better reading exists.
fn drop_weaker(found: &mut Vec<Candidate>) {
    let best = found.iter().map(|c| c.tier).max();
    let has_generic = found.iter().any(|c| c.tier >= Tier::Generic);
    found.retain(|c| match c.tier {
        Tier::Fallback => best.is_some_and(|b| b <= Tier::Fallback),
        Tier::Tentative => !has_generic,
        _ => true,
    });
}

fn score(kb: &Knowledge, c: &Candidate) -> u32 {
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

/// One reading of a pasted text: what a signature or an AADSTS code says it means.
#[derive(Debug, Clone)]
pub struct Reading<'a> {
    /// The signature's id, or `AADSTS<number>`.
    pub id: String,
    pub diagnosis: &'a str,
    /// "smtp", "imap", "pop" (a server's reply), "client" or "entra".
    pub source: &'static str,
    /// The context that turned the signature's own diagnosis into this one.
    pub context: Option<&'a str>,
    pub score: u32,
}

/// Everything a pasted text says, best reading first.
#[derive(Debug, Default)]
pub struct TextReading<'a> {
    pub readings: Vec<Reading<'a>>,
    /// The contexts the text shows, in knowledge-base order.
    pub contexts: Vec<&'a ContextDef>,
    /// AADSTS numbers in the text that entra.toml does not know.
    pub unknown_aadsts: Vec<u32>,
}

/// Reads a pasted text: server replies of any protocol, client-side text, AADSTS
/// codes, and the context around them. A context's `instead_of` readings become
/// its `read_as` one (XOAUTH2 was used: a refused login is a refused token); the
/// readings are then ordered by tier, the diagnosis's rank and specificity.
pub fn read_text<'a>(kb: &'a Knowledge, text: &str) -> TextReading<'a> {
    let Some(p) = Prepared::new(text) else {
        return TextReading::default();
    };
    let seen = fingerprints_in_text(kb, text);
    let contexts: Vec<&Context> = kb
        .contexts
        .iter()
        .filter(|c| c.regex.is_match(&p.haystack))
        .collect();
    let mut found = signature_candidates(kb, None, &p, &seen);
    let mut unknown_aadsts = Vec::new();
    for number in aadsts_numbers(&p.haystack) {
        match kb.entra(number) {
            Some(code) => found.push(Candidate {
                tier: Tier::Coded,
                specificity: 999,
                signature: None,
                id: format!("AADSTS{number}"),
                diagnosis: code.diagnosis.as_str(),
                source: "entra",
                context: None,
            }),
            None => unknown_aadsts.push(number),
        }
    }
    drop_weaker(&mut found);
    for c in &mut found {
        if let Some(ctx) = contexts
            .iter()
            .find(|ctx| ctx.def.instead_of.iter().any(|d| d == c.diagnosis))
        {
            if let Some(to) = &ctx.def.read_as {
                c.diagnosis = to.as_str();
                c.context = Some(ctx.def.id.as_str());
            }
        }
    }
    let mut readings: Vec<Reading> = found
        .iter()
        .map(|c| Reading {
            id: c.id.clone(),
            diagnosis: c.diagnosis,
            source: c.source,
            context: c.context,
            score: score(kb, c),
        })
        .collect();
    readings.sort_by_key(|r| std::cmp::Reverse(r.score));
    TextReading {
        readings,
        contexts: contexts.iter().map(|c| &c.def).collect(),
        unknown_aadsts,
    }
}

/// AADSTS numbers in the text, once each, in order: `AADSTS50126`, and the bare
/// number in `"error_codes":[50126]`, `"errorCode": 50053` and `error?code=50126`.
fn aadsts_numbers(text: &str) -> Vec<u32> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = RE
        .get_or_init(|| {
            ci_regex(
                r#"(?:\bAADSTS|\berror_?codes?"?\s*[:=]\s*\[?\s*|/error\?code=)([0-9]{4,7})\b"#,
                "AADSTS numbers",
            )
            .ok()
        })
        .as_ref()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in re.captures_iter(text) {
        if let Ok(n) = c[1].parse::<u32>() {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_alternatives_are_found_and_others_are_regexes() {
        assert_eq!(
            plain_alternatives(r"wrong version number|WRONG_VERSION_NUMBER"),
            Some(vec![
                "wrong version number".into(),
                "wrong_version_number".into()
            ])
        );
        assert_eq!(
            plain_alternatives(r"Outlook cannot connect \(SMTP\)"),
            Some(vec!["outlook cannot connect (smtp)".into()])
        );
        assert_eq!(plain_alternatives(r"\bLOGIN failed"), None);
        assert_eq!(plain_alternatives(r"a|"), None);
        assert_eq!(plain_alternatives(r"(a|b)"), None);
    }

    #[test]
    fn required_text_is_what_every_match_contains() {
        let req = |p: &str| required_text(p);
        assert_eq!(
            req(r"\bquery\w* EREFUSED\b"),
            Some(vec![" erefused".into()])
        );
        assert_eq!(
            req(r"No subject alternative names (matching|present)|No name matching \S+ found"),
            Some(vec![
                "no subject alternative names ".into(),
                "no name matching ".into()
            ])
        );
        // An optional or repeated last character is left out.
        assert_eq!(req(r"domains? blocked"), Some(vec![" blocked".into()]));
        assert_eq!(
            req(r"authenticators?\. X"),
            Some(vec!["authenticator".into()])
        );
        assert_eq!(
            req(r"4\.7\.[56][0-9][0-9] Server busy"),
            Some(vec![" server busy".into()])
        );
        // One alternative without enough fixed text: no prefilter at all.
        assert_eq!(req(r"abc|[0-9]+"), None);
        assert_eq!(req(r"é"), None);
    }

    #[test]
    fn aadsts_numbers_come_from_codes_lists_and_links() {
        assert_eq!(
            aadsts_numbers(
                r#"AADSTS70002: x. AADSTS50126: y "error_codes":[50126] /error?code=50126"#
            ),
            vec![70002, 50126]
        );
        assert_eq!(aadsts_numbers(r#"errorCode": 50053, "x""#), vec![50053]);
        assert!(aadsts_numbers("port 50126 and code 123").is_empty());
    }
}
