//! Reading a pasted text as a whole: the reply signatures of every protocol, the
//! client-side ones, AADSTS codes (entra.toml) and the context around them
//! (context.toml), best reading first. `explain` is built on it; the live checks
//! read a server's reply through `matcher::match_reply` alone, since they know how
//! they logged in. It never prints or touches the network.

use super::matcher::{
    drop_weaker, fingerprints_in_text, score, signature_candidates, Candidate, Context, Prepared,
    Tier,
};
use super::{ContextDef, Knowledge};
use regex_lite::Regex;
use std::sync::OnceLock;

/// One reading of a pasted text: what a signature or an AADSTS code says it means.
#[derive(Debug, Clone)]
pub struct Reading<'a> {
    /// The signature's id, or `AADSTS<number>`.
    pub id: String,
    pub diagnosis: &'a str,
    /// "smtp", "imap", "pop" (a server's reply), "client" or "entra".
    pub source: &'static str,
    /// The context that turned the signature's own diagnosis into this one, and
    /// that own diagnosis.
    pub context: Option<(&'a str, &'a str)>,
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
        .filter(|c| c.is_match_lower(&p.haystack, &p.lower))
        .collect();
    let mut found = signature_candidates(kb, None, &p, &seen);
    let mut unknown_aadsts = Vec::new();
    let may_hold_numbers = ["aadsts", "error_code", "errorcode", "error?code="]
        .iter()
        .any(|w| p.lower.contains(w));
    let numbers = if may_hold_numbers {
        aadsts_numbers(&p.haystack)
    } else {
        Vec::new()
    };
    for number in numbers {
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
    // Microsoft's number names the cause an umbrella error only classes.
    if found.iter().any(|c| c.source == "entra") {
        found.retain(|c| !c.signature.is_some_and(|s| s.def.umbrella));
    }
    for c in &mut found {
        if let Some(ctx) = contexts
            .iter()
            .find(|ctx| ctx.def.instead_of.iter().any(|d| d == c.diagnosis))
        {
            if let Some(to) = &ctx.def.read_as {
                c.context = Some((ctx.def.id.as_str(), c.diagnosis));
                c.diagnosis = to.as_str();
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
            super::matcher::ci_regex(
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
