//! One probe: the check pipeline (`runner::check_mailbox`) for one configured
//! target, inside a probe slot and under a deadline. A probe that overruns is
//! cancelled (its connections are dropped) and reported as `PROBE_TIMEOUT`,
//! with what the checks that did finish had found.
//!
//! It never decides whether a probe may run (that is the cache's ledger) and it
//! never renders; it hands back a `Report` like `check` produces.

use super::cache::Outcome;
use super::config::{Probe, SecretValue};
use super::limits::Limits;
use crate::checks::ctx::Common;
use crate::checks::{CheckResult, CHECKS};
use crate::knowledge::Knowledge;
use crate::report::model::{CheckReport, Metrics, Report, Tool, SCHEMA_VERSION};
use crate::runner;
use crate::vocab::{CheckId, Finding, OverallStatus, Severity, Status};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A probe's result, as cached and shown.
#[derive(Debug)]
pub struct Probed {
    pub report: Report,
    /// Wall time of the probe (from its slot to its end).
    pub took: Duration,
    /// The deadline it ran under.
    pub deadline: Duration,
    pub timed_out: bool,
    /// Whether it reached the network (a probe that waited in vain for a slot did not).
    pub started: bool,
}

impl Probed {
    /// Whether the mailbox works: its status is OK or WARNING (a warning such as
    /// a certificate that ends soon or a dated sunset still means the login works).
    pub fn success(&self) -> bool {
        matches!(
            self.report.status,
            OverallStatus::Ok | OverallStatus::Warning
        )
    }
    /// The root-cause code, if there is a diagnosis.
    pub fn root_cause(&self) -> Option<&str> {
        self.report.diagnosis.first().map(|d| d.code.as_str())
    }
}

/// What one probe needs besides the target.
pub struct Run<'a> {
    pub kb: &'static Knowledge,
    pub probe: &'a Probe,
    pub secret: SecretValue,
    pub common: Arc<Common>,
    pub limits: &'a Limits,
    pub deadline: Duration,
    pub today: chrono::NaiveDate,
}

/// Runs the probe; `Outcome::NotStarted` when no slot freed up before the deadline.
pub async fn run(r: Run<'_>) -> Outcome<Probed> {
    let Run {
        kb,
        probe,
        secret,
        common,
        limits,
        deadline,
        today,
    } = r;
    let begun = tokio::time::Instant::now();
    let until = begun + deadline;
    let domain = probe.target.domain.clone().unwrap_or_default();
    let Ok(Some(slot)) = tokio::time::timeout_at(until, limits.acquire(&domain)).await else {
        let why = format!(
            "no probe slot became free within the deadline of {:.1} s (too many probes at once, or of one domain)",
            deadline.as_secs_f64()
        );
        let report = timeout_report(kb, probe, &[], &why, begun.elapsed());
        return Outcome::NotStarted(Ok(Arc::new(Probed {
            report,
            took: begun.elapsed(),
            deadline,
            timed_out: true,
            started: false,
        })));
    };
    let start = Instant::now();
    let done: Arc<Mutex<Vec<(CheckId, CheckResult, Duration)>>> = Default::default();
    let seen = done.clone();
    let ran = async move {
        // The MX and the domain's published servers are asked inside the run,
        // as `check` does.
        let target = probe.target.clone();
        let (secret, token, signin) = match secret {
            SecretValue::Password(s) => (Some(s), None, None),
            SecretValue::Token(t) => (None, Some(t), None),
            // The refresh is part of what is probed: the signin check.
            SecretValue::Refresh {
                token,
                client_id,
                tenant,
                client_secret,
                file,
            } => (
                None,
                None,
                Some(Arc::new(crate::checks::signin::Plan::refresh(
                    client_id,
                    (!tenant.is_empty()).then_some(tenant),
                    client_secret,
                    token,
                    Some(file),
                ))),
            ),
        };
        let observer: runner::Observer = Arc::new(move |id, result: &CheckResult| {
            if let Ok(mut v) = seen.lock() {
                v.push((id, result.clone(), start.elapsed()));
            }
        });
        // A step gets a tenth less than the whole deadline (or the module's
        // timeout, when shorter): one stuck step is named by its own finding,
        // and the deadline cuts a probe whose steps add up.
        let mut net = probe.net.clone();
        net.timeout = net.timeout.min(step_budget(deadline));
        let spec = runner::Spec {
            target,
            secret,
            token,
            net,
            today,
            selected: probe.selected.clone(),
            transcript: false,
            observer: Some(observer),
            confirm: None,
            common,
            signin,
        };
        runner::check_mailbox(kb, spec).await
    };
    let result = tokio::time::timeout_at(until, ran).await;
    drop(slot);
    let took = start.elapsed();
    let (report, timed_out) = match result {
        Ok(report) => (report, false),
        Err(_) => {
            let finished = done.lock().map(|v| v.clone()).unwrap_or_default();
            let why = format!(
                "the probe did not finish within its deadline of {:.1} s and was cancelled",
                deadline.as_secs_f64()
            );
            (timeout_report(kb, probe, &finished, &why, took), true)
        }
    };
    Outcome::Ran(Arc::new(Probed {
        report: lean(report),
        took,
        deadline,
        timed_out,
        started: true,
    }))
}

/// What the cache keeps of a report: what a scrape and the probe log show (the
/// statuses, durations, metrics, diagnosis codes and severities). The checks'
/// details and findings and the diagnoses' words are dropped, so that thousands
/// of cached targets stay small; `check` gives the whole report for one mailbox.
fn lean(mut r: Report) -> Report {
    r.transcript = None;
    r.question = None;
    r.target.discovery = None;
    for c in &mut r.checks {
        c.details = serde_json::Value::Null;
        c.findings = Vec::new();
        c.summary = String::new();
    }
    for d in &mut r.diagnosis {
        d.summary = String::new();
        d.explanation = String::new();
        d.fix = String::new();
        d.confirm = Vec::new();
        d.evidence = Vec::new();
        d.docs = None;
        d.checks = Vec::new();
    }
    r
}

/// The longest a single network step may take under a probe deadline.
pub fn step_budget(deadline: Duration) -> Duration {
    let margin = (deadline / 10).max(Duration::from_millis(100));
    deadline
        .saturating_sub(margin)
        .max(Duration::from_millis(50))
}

/// The report of a cancelled probe: the checks that finished as they ended, the
/// others as errors, and `PROBE_TIMEOUT` on the first one still running.
pub fn timeout_report(
    kb: &'static Knowledge,
    probe: &Probe,
    finished: &[(CheckId, CheckResult, Duration)],
    why: &str,
    took: Duration,
) -> Report {
    let title = kb
        .diagnosis("PROBE_TIMEOUT")
        .map(|d| d.title.clone())
        .unwrap_or_else(|| why.to_string());
    let mut blamed = false;
    let mut checks = Vec::new();
    let mut owned: Vec<(CheckId, Finding)> = Vec::new();
    for c in CHECKS.iter().filter(|c| probe.selected.contains(&c.id())) {
        let id = c.id();
        match finished.iter().find(|(f, _, _)| *f == id) {
            Some((_, res, at)) => {
                owned.extend(res.findings.iter().cloned().map(|f| (id, f)));
                checks.push(CheckReport {
                    id,
                    status: res.status,
                    summary: res.summary.clone(),
                    duration_ms: at.as_millis() as u64,
                    findings: res.findings.clone(),
                    details: res.details.clone(),
                });
            }
            None => {
                let mut findings = Vec::new();
                if !blamed {
                    blamed = true;
                    let f = Finding::new("PROBE_TIMEOUT", Severity::Critical, title.clone())
                        .with_evidence(why.to_string());
                    owned.push((id, f.clone()));
                    findings.push(f);
                }
                checks.push(CheckReport {
                    id,
                    status: Status::Error,
                    summary: format!("not finished: {why}"),
                    duration_ms: took.as_millis() as u64,
                    findings,
                    details: serde_json::Value::Null,
                });
            }
        }
    }
    if !blamed {
        let id = checks.last().map(|c| c.id).unwrap_or(CheckId::Credentials);
        owned.push((
            id,
            Finding::new("PROBE_TIMEOUT", Severity::Critical, title).with_evidence(why.to_string()),
        ));
    }
    let refs: Vec<(CheckId, &Finding)> = owned.iter().map(|(c, f)| (*c, f)).collect();
    let tested: Vec<crate::vocab::Endpoint> = probe
        .target
        .endpoints
        .iter()
        .filter(|e| probe.selected.contains(&e.protocol.check_id()))
        .cloned()
        .collect();
    let diagnosis = crate::diagnose::diagnose(
        kb,
        &refs,
        &probe.target.user,
        probe.target.domain.as_deref(),
        &tested,
    );
    let statuses: Vec<Status> = checks.iter().map(|c| c.status).collect();
    let status = crate::diagnose::overall(&diagnosis, &statuses);
    Report {
        question: crate::diagnose::question(kb, &diagnosis, &probe.target.user),
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        target: probe.target.clone(),
        status,
        duration_ms: took.as_millis() as u64,
        checks,
        diagnosis,
        metrics: Metrics {
            warning_days: probe.net.warning_days,
            critical_days: probe.net.critical_days,
            ..Default::default()
        },
        transcript: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_ends_before_the_probe_deadline() {
        assert_eq!(step_budget(Duration::from_secs(10)), Duration::from_secs(9));
        assert_eq!(
            step_budget(Duration::from_millis(500)),
            Duration::from_millis(400)
        );
        assert_eq!(
            step_budget(Duration::from_millis(100)),
            Duration::from_millis(50)
        );
    }
}
