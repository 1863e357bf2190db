//! Runs the checks for one mailbox: first discovery, when no profile names the
//! servers (on the run's resolver, once per domain for a whole batch), then every
//! selected check at once, each waiting for what it needs through `Shared` slots,
//! so independent branches (smtp, imap, pop, tenant) overlap; the report keeps the
//! fixed display order. A check whose prerequisite was not selected is reported
//! `skip` with the reason. What only several results together make sure of is
//! added after they are all in (`checks::corroborate`).

pub mod batch;

use crate::checks::ctx::Common;
use crate::checks::{CheckResult, Ctx, CHECKS};
use crate::diagnose;
use crate::report::model::{CheckReport, Report, Tool, SCHEMA_VERSION};
use crate::vocab::{CheckId, Finding, Status};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Which checks run: `--only` adds what the chosen checks need, `--skip` removes.
pub fn select(only: &[CheckId], skip: &[CheckId]) -> BTreeSet<CheckId> {
    let mut set: BTreeSet<CheckId> = if only.is_empty() {
        CHECKS.iter().map(|c| c.id()).collect()
    } else {
        let mut s: BTreeSet<CheckId> = only.iter().copied().collect();
        // Close over needs (CHECKS is in dependency order, so walk it backwards).
        for c in CHECKS.iter().rev() {
            if s.contains(&c.id()) {
                s.extend(c.needs().iter().copied());
            }
        }
        s
    };
    for s in skip {
        set.remove(s);
    }
    set
}

/// The result of one check, with its timing.
#[derive(Debug, Clone)]
pub struct Ran {
    pub id: CheckId,
    pub result: CheckResult,
    pub duration: Duration,
}

/// Runs the selected checks; results come back in display order.
pub async fn run(ctx: &Ctx, selected: &BTreeSet<CheckId>, observer: Option<&Observer>) -> Vec<Ran> {
    let futures = CHECKS.iter().map(|check| async move {
        let id = check.id();
        let start = Instant::now();
        let result = if !selected.contains(&id) {
            None
        } else if let Some(missing) = check.needs().iter().find(|n| !selected.contains(n)) {
            Some(CheckResult::skip(format!(
                "needs the {missing} check, which was not run"
            )))
        } else {
            Some(check.run(ctx).await)
        };
        if let (Some(r), Some(o)) = (&result, observer) {
            o(id, r);
        }
        result.map(|result| Ran {
            id,
            result,
            duration: start.elapsed(),
        })
    });
    futures::future::join_all(futures)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Everything needed to check one mailbox.
pub struct Spec {
    pub target: crate::target::Target,
    pub secret: Option<crate::secret::Secret>,
    /// An OAuth 2.0 access token for XOAUTH2, used instead of the password.
    pub token: Option<crate::secret::Secret>,
    pub net: crate::checks::NetOptions,
    pub today: chrono::NaiveDate,
    pub selected: BTreeSet<CheckId>,
    pub transcript: bool,
    /// Told as each check finishes (the spinner).
    pub observer: Option<Observer>,
    /// Shared by every mailbox of the run.
    pub common: std::sync::Arc<Common>,
}

/// A callback told as each check finishes.
pub type Observer = std::sync::Arc<dyn Fn(CheckId, &CheckResult) + Send + Sync>;

/// Runs the selected checks for one mailbox and assembles its report.
pub async fn check_mailbox(kb: &'static crate::knowledge::Knowledge, spec: Spec) -> Report {
    let start = Instant::now();
    let mut target = spec.target;
    if let Some(domain) = target.needs_discovery(kb).map(str::to_string) {
        let found = discover(kb, &spec.common, &spec.net, &target.user, &domain).await;
        target.apply_discovery(kb, found);
    }
    let ctx = Ctx {
        target,
        secret: spec.secret,
        token: spec.token,
        kb,
        net: spec.net,
        today: spec.today,
        transcript: crate::net::transcript::Transcript::new(),
        shared: Default::default(),
        common: spec.common,
        selected: spec.selected.clone(),
    };
    let ran = run(&ctx, &spec.selected, spec.observer.as_ref()).await;
    build_report(&ctx, ran, start.elapsed(), spec.transcript)
}

/// The domain's servers, asked once per run for each domain, on the run's
/// resolver (the dns check's too).
async fn discover(
    kb: &'static crate::knowledge::Knowledge,
    common: &Common,
    net: &crate::checks::NetOptions,
    user: &str,
    domain: &str,
) -> crate::target::discovery::Discovery {
    let resolver = match common.resolver(net) {
        Ok(r) => r,
        Err(e) => {
            return crate::target::discovery::Discovery {
                domain: domain.to_string(),
                steps: vec![crate::target::discovery::Step {
                    source: "mx",
                    outcome: "failed",
                    detail: e,
                }],
                ..Default::default()
            }
        }
    };
    let opts = crate::discover::Options {
        timeout: net.timeout,
        extra_roots: net.extra_roots.clone(),
        port: net.autoconfig_port,
    };
    common
        .discovery(
            domain,
            crate::discover::domain(kb, &resolver, &opts, user, domain),
        )
        .await
}

/// Assembles the report from what the runner returned.
pub fn build_report(ctx: &Ctx, mut ran: Vec<Ran>, took: Duration, with_transcript: bool) -> Report {
    {
        let mut results: Vec<(CheckId, &mut CheckResult)> =
            ran.iter_mut().map(|r| (r.id, &mut r.result)).collect();
        crate::checks::corroborate::corroborate(ctx, &mut results);
    }
    let findings: Vec<(CheckId, &Finding)> = ran
        .iter()
        .flat_map(|r| r.result.findings.iter().map(move |f| (r.id, f)))
        .collect();
    // The servers this run talked to (the admin commands name them).
    let tested: Vec<crate::vocab::Endpoint> = ctx
        .target
        .endpoints
        .iter()
        .filter(|e| ctx.selected.contains(&e.protocol.check_id()))
        .cloned()
        .collect();
    let diagnosis = diagnose::diagnose(
        ctx.kb,
        &findings,
        &ctx.target.user,
        ctx.target.domain.as_deref(),
        &tested,
    );
    let statuses: Vec<_> = ran.iter().map(|r| r.result.status).collect();
    let status = diagnose::overall(&diagnosis, &statuses);
    let checks = ran
        .iter()
        .map(|r| CheckReport {
            id: r.id,
            status: r.result.status,
            summary: r.result.summary.clone(),
            duration_ms: r.duration.as_millis() as u64,
            findings: r.result.findings.clone(),
            details: r.result.details.clone(),
        })
        .collect();
    let target = reported_target(ctx);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        metrics: metrics(ctx, &ran, &target),
        target,
        status,
        duration_ms: took.as_millis() as u64,
        checks,
        diagnosis,
        transcript: with_transcript.then(|| ctx.transcript.lines()),
    }
}

/// The target as tested; a provider that only a server's greeting revealed
/// replaces `generic` (source "greeting").
fn reported_target(ctx: &Ctx) -> crate::target::Target {
    let mut t = ctx.target.clone();
    if t.provider_source == "none" {
        let greetings = ctx.shared.greetings.peek().unwrap_or_default();
        let found = greetings
            .iter()
            .find_map(|(_, fp)| crate::knowledge::provider_for_fingerprint(ctx.kb, fp.as_deref()?));
        if let Some(id) = found {
            t.set_provider(ctx.kb, &id, "greeting");
        }
    }
    t
}

/// Certificate days left (from the tls check's details) and the next dated deadline.
fn metrics(
    ctx: &Ctx,
    ran: &[Ran],
    target: &crate::target::Target,
) -> crate::report::model::Metrics {
    let cert_days_left = ran
        .iter()
        .filter(|r| r.id == CheckId::Tls)
        .filter_map(|r| r.result.details.as_object())
        .flat_map(|m| m.values())
        .filter_map(|ep| ep["tls"]["chain"][0]["days_left"].as_i64())
        .min();
    let deadline = (target.provider.starts_with("microsoft365")
        && target.endpoint(crate::vocab::Protocol::Smtp).is_some())
    .then(|| ctx.kb.fact("exo-smtp-basic-auth-default-off"))
    .flatten()
    .filter(|f| f.date > ctx.today);
    crate::report::model::Metrics {
        cert_days_left,
        deadline: deadline.map(|f| f.date.to_string()),
        deadline_days_left: deadline.map(|f| (f.date - ctx.today).num_days()),
        warning_days: ctx.net.warning_days,
        critical_days: ctx.net.critical_days,
    }
}

/// Skipped-check status helper for callers that inspect results.
pub fn is_ok(status: Status) -> bool {
    matches!(status, Status::Pass | Status::Warn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_adds_prerequisites_and_skip_removes() {
        let s = select(&[CheckId::Smtp], &[]);
        assert_eq!(
            s.into_iter().collect::<Vec<_>>(),
            vec![CheckId::Dns, CheckId::Tls, CheckId::Smtp]
        );
        let s = select(&[], &[CheckId::Dns, CheckId::Tenant]);
        assert!(!s.contains(&CheckId::Dns) && s.contains(&CheckId::Smtp));
    }
}
