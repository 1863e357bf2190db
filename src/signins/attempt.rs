//! The sign-in log's record of the login a `check` just made (`--signin-log`):
//! the same user, the run's time window, the protocol's `clientAppUsed`, read
//! from Microsoft Graph and polled until it appears or the wait is over (the
//! logs lag; Microsoft says up to two hours). A record found becomes findings:
//! its AADSTS code's diagnosis from `checks/entra.toml` (wrong password, MFA,
//! Conditional Access, a blocked or disabled account...), with the record's
//! failure reason, Conditional Access result and policy names as evidence.
//! Found or not, a finding says what was looked up and what was found.
//!
//! Every text taken from a record is scrubbed of the run's secrets and cleaned
//! of control characters before it is kept.

use super::graph::{self, GraphError, Options};
use crate::knowledge::Knowledge;
use crate::net::scrub::Scrubber;
use crate::secret::Secret;
use crate::vocab::{Finding, Protocol, Severity};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How the sign-in logs name each protocol's client app.
pub fn client_app(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "Authenticated SMTP",
        Protocol::Imap => "IMAP4",
        Protocol::Pop => "POP3",
    }
}

/// What to look up.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub user: String,
    pub protocol: Protocol,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// How long to poll for the record to appear, and how often.
    pub wait: Duration,
    pub poll: Duration,
}

/// One failed sign-in as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub time: String,
    pub error_code: u32,
    pub failure_reason: String,
    pub additional_details: String,
    pub ca_status: String,
    /// Policy display names, each with its result.
    pub policies: Vec<String>,
}

/// What the look-up came to.
#[derive(Debug)]
pub enum Outcome {
    Found { record: Record, polls: u32 },
    NotFound { polls: u32 },
    Unavailable(GraphError),
}

fn text(v: &serde_json::Value, scrub: &Scrubber) -> String {
    super::clean(&scrub.scrub(v.as_str().unwrap_or_default()))
}

/// The newest failed record of `user` with the protocol's client app.
pub fn pick(records: &[serde_json::Value], l: &Lookup, scrub: &Scrubber) -> Option<Record> {
    let app = client_app(l.protocol);
    records
        .iter()
        .filter(|r| {
            r["userPrincipalName"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(&l.user))
                && r["clientAppUsed"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(app))
                && r["status"]["errorCode"].as_u64().is_some_and(|c| c != 0)
        })
        .max_by_key(|r| {
            r["createdDateTime"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .map(|r| Record {
            time: text(&r["createdDateTime"], scrub),
            error_code: r["status"]["errorCode"]
                .as_u64()
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0),
            failure_reason: text(&r["status"]["failureReason"], scrub),
            additional_details: text(&r["status"]["additionalDetails"], scrub),
            ca_status: text(&r["conditionalAccessStatus"], scrub),
            policies: r["appliedConditionalAccessPolicies"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .take(20)
                        .filter(|p| {
                            !matches!(
                                p["result"].as_str(),
                                Some("notApplied") | Some("notEnabled")
                            )
                        })
                        .map(|p| {
                            format!(
                                "{} ({})",
                                text(&p["displayName"], scrub),
                                text(&p["result"], scrub)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
}

/// Polls Graph for the record until it appears or `l.wait` is over.
pub async fn look_up(base: &Options, l: &Lookup, token: &Secret, scrub: &Scrubber) -> Outcome {
    let mut opts = base.clone();
    opts.client_apps = vec![client_app(l.protocol).to_string()];
    opts.user = Some(l.user.to_lowercase());
    opts.since = l.from;
    opts.until = l.to;
    opts.page_size = 50;
    let end = tokio::time::Instant::now() + l.wait;
    let mut polls = 0;
    loop {
        polls += 1;
        opts.deadline = end.max(tokio::time::Instant::now() + opts.timeout);
        match graph::records(&opts, token, scrub, 500).await {
            Ok((records, _)) => {
                if let Some(record) = pick(&records, l, scrub) {
                    return Outcome::Found { record, polls };
                }
            }
            Err(e) => return Outcome::Unavailable(e),
        }
        let now = tokio::time::Instant::now();
        if now + l.poll > end {
            return Outcome::NotFound { polls };
        }
        tokio::time::sleep(l.poll).await;
    }
}

/// What was looked up, in words.
fn asked(l: &Lookup, endpoint: &str) -> String {
    format!(
        "looked up in {endpoint}: user {}, clientAppUsed '{}', {} to {} UTC",
        l.user,
        client_app(l.protocol),
        l.from.format("%Y-%m-%d %H:%M:%S"),
        l.to.format("%H:%M:%S")
    )
}

/// The findings of a look-up: what was looked up and found, and the record's
/// diagnosis when there is one.
pub fn findings(kb: &Knowledge, l: &Lookup, endpoint: &str, outcome: &Outcome) -> Vec<Finding> {
    let asked = asked(l, endpoint);
    match outcome {
        Outcome::Unavailable(e) => vec![Finding::new(
            "SIGNIN_LOG_UNAVAILABLE",
            Severity::Info,
            format!("{asked}: the sign-in log could not be read: {e}"),
        )],
        Outcome::NotFound { polls } => vec![Finding::new(
            "SIGNIN_LOG_NOT_FOUND",
            Severity::Info,
            format!(
                "{asked}: no record of this login after {} s ({polls} look-ups); sign-in logs can lag, Microsoft says up to two hours, so look again later in the Entra admin center",
                l.wait.as_secs()
            ),
        )],
        Outcome::Found { record: r, polls } => {
            let entry = kb.entra(r.error_code);
            let name = entry
                .and_then(|e| e.name.as_deref())
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            let mut ca = format!("Conditional Access: {}", or_none(&r.ca_status));
            if !r.policies.is_empty() {
                ca.push_str(&format!("; policies: {}", r.policies.join(", ")));
            }
            let said = format!(
                "the sign-in log records this login at {} as AADSTS{}{name}: \"{}\"; {ca}",
                r.time,
                r.error_code,
                or_none(&r.failure_reason)
            );
            let mut out = vec![Finding::new(
                "SIGNIN_LOG_RECORD",
                Severity::Info,
                format!("{asked}: found after {polls} look-ups"),
            )
            .with_evidence(said.clone())];
            match entry {
                Some(e) => {
                    let severity = kb
                        .diagnosis(&e.diagnosis)
                        .map(|d| d.severity)
                        .unwrap_or(Severity::Critical);
                    let mut evidence = format!("Microsoft: \"{}\" ({})", e.text, e.source);
                    if !r.additional_details.is_empty() {
                        evidence.push_str(&format!("; details: {}", r.additional_details));
                    }
                    out.push(Finding::new(&e.diagnosis, severity, said).with_evidence(evidence));
                }
                None => out.push(
                    Finding::new(
                        "SIGNIN_LOG_RECORD",
                        Severity::Warning,
                        format!(
                            "{said}; the knowledge base does not know AADSTS{}: see https://login.microsoftonline.com/error?code={}",
                            r.error_code, r.error_code
                        ),
                    ),
                ),
            }
            out
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "none given"
    } else {
        s
    }
}

/// Codes of a protocol check that mean the login itself was refused: the ones
/// whose sign-in is worth looking up.
pub const REFUSALS: &[&str] = &[
    "M365_AUTH_UNSUCCESSFUL",
    "BAD_CREDENTIALS",
    "M365_BASIC_AUTH_DISABLED",
    "M365_CONDITIONAL_ACCESS",
    "M365_SECURITY_DEFAULTS",
    "MFA_REQUIRED",
    "ACCOUNT_LOCKED",
    "ACCOUNT_DISABLED",
    "M365_SMTP_AUTH_DISABLED_MAILBOX",
    "M365_SMTP_AUTH_DISABLED_TENANT",
    "OAUTH_TOKEN_REJECTED",
];

/// Whether a finding is the ambiguous refusal the log makes precise.
pub fn ambiguous(code: &str) -> bool {
    code == "M365_AUTH_UNSUCCESSFUL"
}
