//! `explain`: what a pasted text (a server reply, a client's exception, a log
//! line, an Entra sign-in error) means. Every reading of the text becomes a
//! diagnosis, best reading first; a text with no reading is said to be not
//! recognised, with the one thing to ask for next.
//!
//! It only reads the knowledge base; it never prints or touches the network.

use crate::diagnose::fill;
use crate::knowledge::normalize::extract_reply;
use crate::knowledge::reading::{read_text, Reading};
use crate::knowledge::Knowledge;
use crate::report::model::{Diagnosis, Explanation, TextContext, Tool, SCHEMA_VERSION};
use crate::vocab::OverallStatus;

/// The code of a text with no known reading.
pub const NOT_RECOGNISED: &str = "NOT_RECOGNISED";

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

/// Explains a pasted text: one diagnosis per distinct reading, in the order the
/// matcher ranks them (root cause first).
pub fn explain(kb: &Knowledge, text: &str) -> Explanation {
    let read = read_text(kb, text);
    let mut diagnosis: Vec<Diagnosis> = Vec::new();
    for r in &read.readings {
        let line = evidence(kb, r);
        if let Some(d) = diagnosis.iter_mut().find(|d| d.code == r.diagnosis) {
            push_unique(&mut d.checks, r.source.to_string());
            push_unique(&mut d.evidence, line);
            continue;
        }
        if let Some(d) = from_catalogue(kb, r.diagnosis, r.source, line) {
            diagnosis.push(d);
        }
    }
    let recognised = !diagnosis.is_empty();
    let status = if recognised {
        crate::diagnose::overall(&diagnosis, &[])
    } else {
        let unknown = read.unknown_aadsts.iter().map(|n| {
            format!("AADSTS{n} is not in the knowledge base: https://login.microsoftonline.com/error?code={n}")
        });
        let mut d = from_catalogue(kb, NOT_RECOGNISED, "text", String::new());
        if let Some(d) = d.as_mut() {
            d.evidence = unknown.collect();
        }
        diagnosis.extend(d);
        OverallStatus::Unknown
    };
    Explanation {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        status,
        recognised,
        // Pasted text may hold a server's terminal escapes: shown escaped.
        reply: extract_reply(text).map(|r| crate::net::scrub::escape_controls(&r).into_owned()),
        context: read
            .contexts
            .iter()
            .map(|c| TextContext {
                id: c.id.clone(),
                meaning: c.meaning.clone(),
            })
            .collect(),
        matched: read.readings.iter().map(|r| r.id.clone()).collect(),
        question: recognised
            .then(|| crate::diagnose::question(kb, &diagnosis, "<user>"))
            .flatten(),
        diagnosis,
    }
}

/// The diagnosis `code` as the catalogue words it, placeholders filled in as far
/// as a pasted text allows.
fn from_catalogue(kb: &Knowledge, code: &str, source: &str, evidence: String) -> Option<Diagnosis> {
    let def = kb.diagnosis(code)?;
    let fill = |s: &str| fill(s, "<user>", None, None);
    Some(Diagnosis {
        code: def.code.clone(),
        severity: def.severity,
        summary: fill(&def.title),
        explanation: fill(&def.explanation),
        fix: fill(&def.fix),
        actor: def.actor,
        confirm: def.confirm.iter().map(|c| fill(c)).collect(),
        docs: def.docs.clone(),
        checks: vec![source.to_string()],
        evidence: if evidence.is_empty() {
            Vec::new()
        } else {
            vec![evidence]
        },
    })
}

/// Where a reading came from, in one line: the signature (and the context that
/// changed its meaning), or the AADSTS code with Microsoft's name for it.
fn evidence(kb: &Knowledge, r: &Reading) -> String {
    let title = kb
        .diagnosis(r.diagnosis)
        .map(|d| d.title.as_str())
        .unwrap_or_default();
    if r.source == "entra" {
        let number = r.id.trim_start_matches("AADSTS");
        let code = number.parse().ok().and_then(|n| kb.entra(n));
        let name = code
            .and_then(|c| c.name.as_deref())
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let words = code
            .map(|c| format!(", Microsoft: \"{}\"", c.text))
            .unwrap_or_default();
        return format!(
            "entra: {}{name}{words} (https://login.microsoftonline.com/error?code={number})",
            r.id
        );
    }
    match r.context {
        Some((ctx, own)) => format!(
            "{}: {title} ({}, which is {own} without the context `{ctx}`)",
            r.source, r.id
        ),
        None => format!("{}: {title} ({})", r.source, r.id),
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
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
