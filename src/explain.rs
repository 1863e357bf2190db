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
        reply: extract_reply(text),
        matched: matches.iter().map(|m| m.signature.def.id.clone()).collect(),
        diagnosis,
    }
}
