//! Findings -> diagnoses, root cause first, and the overall status.
//!
//! The order is the catalogue's `rank` (lower is more fundamental: a DNS failure
//! before a TLS failure before a policy block before a wrong password), then
//! severity; a finding marked as a second reading comes after all the others. Placeholders `{user}`, `{domain}`, `{host}` and `{port}` in fixes and
//! admin commands are filled in here, so every renderer shows the same text. A
//! finding that carries its own fix (the published port, the expected length)
//! gives the diagnosis that fix in place of the catalogue's general one.

use crate::knowledge::Knowledge;
use crate::report::model::{Answer, Diagnosis, Question};
use crate::vocab::{Actor, CheckId, Endpoint, Finding, OverallStatus, Severity, Status};

/// Builds the ordered diagnosis list from the findings of every check.
pub fn diagnose(
    kb: &Knowledge,
    findings: &[(CheckId, &Finding)],
    user: &str,
    domain: Option<&str>,
    endpoints: &[Endpoint],
) -> Vec<Diagnosis> {
    let mut out: Vec<((bool, u32), Diagnosis)> = Vec::new();
    for (check, f) in findings {
        if f.severity == Severity::Info {
            continue;
        }
        if let Some((key, d)) = out.iter_mut().find(|(_, d)| d.code == f.code) {
            key.0 &= f.second;
            d.severity = d.severity.max(f.severity);
            if let Some(fix) = f.fix.as_deref().filter(|x| !d.fix.contains(*x)) {
                d.fix = format!("{} {fix}", d.fix);
            }
            push_unique(&mut d.evidence, evidence_line(*check, f));
            push_unique(&mut d.checks, check.as_str().to_string());
            continue;
        }
        let server = server_of(*check, endpoints);
        let fill = |s: &str| fill(s, user, domain, server);
        let (rank, d) = match kb.diagnosis(&f.code) {
            Some(def) => (
                def.rank,
                Diagnosis {
                    code: def.code.clone(),
                    severity: f.severity,
                    summary: fill(&def.title),
                    explanation: fill(&def.explanation),
                    fix: f.fix.clone().unwrap_or_else(|| fill(&def.fix)),
                    actor: def.actor,
                    confirm: def.confirm.iter().map(|c| fill(c)).collect(),
                    docs: def.docs.clone(),
                    checks: vec![check.as_str().to_string()],
                    evidence: vec![evidence_line(*check, f)],
                },
            ),
            None => (
                u32::MAX,
                Diagnosis {
                    code: f.code.clone(),
                    severity: f.severity,
                    summary: f.message.clone(),
                    explanation: String::new(),
                    fix: f.fix.clone().unwrap_or_default(),
                    actor: Actor::User,
                    confirm: Vec::new(),
                    docs: None,
                    checks: vec![check.as_str().to_string()],
                    evidence: vec![evidence_line(*check, f)],
                },
            ),
        };
        out.push(((f.second, rank), d));
    }
    out.sort_by(|(ra, a), (rb, b)| ra.cmp(rb).then(b.severity.cmp(&a.severity)));
    out.into_iter().map(|(_, d)| d).collect()
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

fn evidence_line(check: CheckId, f: &Finding) -> String {
    match &f.evidence {
        Some(e) => format!("{check}: {} ({e})", f.message),
        None => format!("{check}: {}", f.message),
    }
}

/// The server a check's finding is about: its protocol's endpoint, or the only
/// endpoint the run tested (else the placeholders stay).
fn server_of(check: CheckId, endpoints: &[Endpoint]) -> Option<&Endpoint> {
    endpoints
        .iter()
        .find(|e| e.protocol.check_id() == check)
        .or(match endpoints {
            [only] => Some(only),
            _ => None,
        })
}

/// Fills `{user}`, `{domain}`, `{host}` and `{port}` in catalogue text.
pub fn fill(s: &str, user: &str, domain: Option<&str>, server: Option<&Endpoint>) -> String {
    let (host, port) = match server {
        Some(e) => (e.host.clone(), e.port.to_string()),
        None => ("<server name>".to_string(), "<port>".to_string()),
    };
    s.replace("{user}", user)
        .replace("{domain}", domain.unwrap_or("<domain>"))
        .replace("{host}", &host)
        .replace("{port}", &port)
}

/// The overall status: critical beats unknown (the tool's own failure) beats
/// warning. A check that warned or failed (it could not test what it was asked
/// to, or found something) never leaves the run OK.
/// When the root cause is not the only reading left: the question that tells
/// it from the first other diagnosis it has a question with (questions.toml).
pub fn question(kb: &Knowledge, diagnoses: &[Diagnosis], user: &str) -> Option<Question> {
    let (root, rest) = diagnoses.split_first()?;
    rest.iter().find_map(|other| {
        let q = kb.question(&root.code, &other.code)?;
        Some(Question {
            between: [root.code.clone(), other.code.clone()],
            ask: fill(&q.ask, user, None, None),
            answers: q
                .answer
                .iter()
                .map(|a| Answer {
                    says: a.says.clone(),
                    means: a.means.clone(),
                })
                .collect(),
        })
    })
}

pub fn overall(diagnoses: &[Diagnosis], statuses: &[Status]) -> OverallStatus {
    if diagnoses.iter().any(|d| d.severity == Severity::Critical) {
        OverallStatus::Critical
    } else if statuses.contains(&Status::Error) {
        OverallStatus::Unknown
    } else if diagnoses.iter().any(|d| d.severity == Severity::Warning)
        || statuses.contains(&Status::Fail)
        || statuses.contains(&Status::Warn)
    {
        OverallStatus::Warning
    } else {
        OverallStatus::Ok
    }
}
