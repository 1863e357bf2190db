//! Runs the checks for one mailbox: first discovery, when no profile names the
//! servers (on the run's resolver, once per domain for a whole batch; when the
//! user named the servers, only the MX first, and the rest alongside the checks),
//! then every selected check at once, each waiting for what it needs through `Shared` slots,
//! so independent branches (smtp, imap, pop, tenant) overlap; the report keeps the
//! fixed display order. A check whose prerequisite was not selected is reported
//! `skip` with the reason. What only several results together make sure of is
//! added after they are all in (`checks::corroborate`).

pub mod batch;
pub mod paths;

use crate::checks::ctx::Common;
use crate::checks::{CheckResult, Ctx, CHECKS};
use crate::diagnose;
use crate::net::scrub::{Credential, Scrubber};
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

/// Network steps one mailbox's longest branch may take (DNS, connect, greeting,
/// capabilities, STARTTLS, TLS, capabilities again, a three-reply login, the
/// proof of access), with room to spare: the whole run ends within `--timeout`
/// times this, whatever a server does.
pub const RUN_STEPS: u32 = 16;

/// The deadline of one mailbox's run.
pub fn run_budget(timeout: Duration) -> Duration {
    timeout.saturating_mul(RUN_STEPS)
}

/// What a check that was still running at the run's deadline reports.
fn past_deadline(id: CheckId, budget: Duration) -> CheckResult {
    let why = format!(
        "the run's deadline ({} s) passed before the {id} check finished",
        budget.as_secs_f64()
    );
    CheckResult::new(Status::Fail, why.clone()).with_findings(vec![Finding::new(
        "TCP_TIMEOUT",
        crate::vocab::Severity::Critical,
        why,
    )])
}

/// A check's result as it is kept: every text scrubbed of the run's secrets
/// and of control characters, whatever part of it came from a server.
pub fn scrubbed(scrub: &Scrubber, mut r: CheckResult) -> CheckResult {
    r.summary = scrub.scrub_keeping_lines(&r.summary);
    for f in &mut r.findings {
        f.message = scrub.scrub_keeping_lines(&f.message);
        if let Some(e) = &mut f.evidence {
            *e = scrub.scrub_keeping_lines(e);
        }
    }
    scrub.scrub_json(&mut r.details);
    r
}

/// Runs the selected checks; results come back in display order. Each check
/// ends by the run's deadline (`run_budget`) at the latest.
pub async fn run(ctx: &Ctx, selected: &BTreeSet<CheckId>, observer: Option<&Observer>) -> Vec<Ran> {
    let budget = run_budget(ctx.net.timeout);
    let deadline = tokio::time::Instant::now() + budget;
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
            let r = tokio::time::timeout_at(deadline, check.run(ctx))
                .await
                .unwrap_or_else(|_| past_deadline(id, budget));
            Some(scrubbed(&ctx.scrub, r))
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
    /// Asks the user, at a terminal, whether a discovered host outside the
    /// domain may have the credentials (`check` in text mode only; never batch,
    /// serve or a machine format).
    pub confirm: Option<Confirm>,
    /// Shared by every mailbox of the run.
    pub common: std::sync::Arc<Common>,
    /// Sign in with OAuth first (`--sign-in`); its token replaces the password.
    pub signin: Option<std::sync::Arc<crate::checks::signin::Plan>>,
}

/// A callback told as each check finishes.
pub type Observer = std::sync::Arc<dyn Fn(CheckId, &CheckResult) + Send + Sync>;

/// Asks whether `host` may have the credentials, showing `evidence`; true for a
/// yes. It may block (it reads the terminal).
pub type Confirm = std::sync::Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Asks `confirm` about each discovered host outside the domain that the trust
/// rule does not take; the hosts said yes to join `net.confirmed`.
async fn ask_about_discovered(
    kb: &'static crate::knowledge::Knowledge,
    target: &crate::target::Target,
    net: &mut crate::checks::NetOptions,
    confirm: &Confirm,
) {
    let asks = crate::target::discovery::to_confirm(kb, target, &net.trust_discovered);
    for (host, evidence) in asks {
        let (ask, h) = (confirm.clone(), host.clone());
        let yes = tokio::task::spawn_blocking(move || ask(&h, &evidence))
            .await
            .unwrap_or(false);
        if yes {
            net.confirmed.push(host);
        }
    }
}

/// Runs the selected checks for one mailbox and assembles its report.
pub async fn check_mailbox(kb: &'static crate::knowledge::Knowledge, mut spec: Spec) -> Report {
    // The run's scrubber; one of this mailbox's own when the caller built none.
    let mut scrub = spec.common.scrubber();
    // A sign-in teaches its secrets to the scrubber as they appear: a mailbox of
    // a run whose scrubber is empty (a `serve` probe) gets one of its own, so they
    // stay with this mailbox's run.
    if scrub.is_empty() && (spec.secret.is_some() || spec.token.is_some() || spec.signin.is_some())
    {
        let user = spec.target.user.as_str();
        let creds: Vec<Credential> = [(&spec.secret, false), (&spec.token, true)]
            .into_iter()
            .filter_map(|(s, token)| {
                s.as_ref().map(|secret| Credential {
                    user,
                    secret,
                    token,
                })
            })
            .collect();
        scrub = std::sync::Arc::new(Scrubber::new(&creds));
    }
    let start = Instant::now();
    let mut target = spec.target;
    let to_discover = target.needs_discovery(kb).map(str::to_string);
    // With servers named, only the MX can still change who the provider is: it is
    // asked first, and what the domain publishes besides (SRV, autoconfig), which
    // only corroborates the named servers, is asked while the checks run.
    let alongside = match &to_discover {
        Some(domain) if target.named_servers() => {
            let mx = Box::pin(discover_mx(kb, &spec.common, &spec.net, domain)).await;
            target.apply_discovery(kb, mx.clone());
            Some((domain.clone(), mx))
        }
        Some(domain) => {
            // On the heap: a mailbox's future stays small while it waits its turn.
            let found = Box::pin(discover(
                kb,
                &spec.common,
                &spec.net,
                &target.user,
                domain,
                None,
            ))
            .await;
            target.apply_discovery(kb, found);
            if let Some(confirm) = &spec.confirm {
                ask_about_discovered(kb, &target, &mut spec.net, confirm).await;
            }
            None
        }
        None => None,
    };
    let user = target.user.clone();
    let mut ctx = Ctx {
        scrub,
        target,
        secret: spec.secret,
        token: spec.token,
        kb,
        net: spec.net,
        today: spec.today,
        transcript: crate::net::transcript::Transcript::since(start),
        shared: Default::default(),
        common: spec.common,
        selected: spec.selected.clone(),
    };
    // The sign-in runs before the checks, on its own deadline: a person may take
    // minutes to enter a code, and no server connection waits meanwhile.
    let mut signed_in = None;
    if let Some(plan) = &spec.signin {
        let began = Instant::now();
        let s = crate::checks::signin::sign_in(&ctx, plan).await;
        ctx.token = s.token;
        ctx.secret = None;
        let result = scrubbed(&ctx.scrub, s.result);
        if let Some(o) = spec.observer.as_ref() {
            o(CheckId::Signin, &result);
        }
        signed_in = Some(Ran {
            id: CheckId::Signin,
            result,
            duration: began.elapsed(),
        });
    }
    let (ran, found) = {
        let checks = run(&ctx, &spec.selected, spec.observer.as_ref());
        let published = async {
            match alongside {
                Some((domain, mx)) => Some(
                    Box::pin(discover(
                        kb,
                        &ctx.common,
                        &ctx.net,
                        &user,
                        &domain,
                        Some(mx),
                    ))
                    .await,
                ),
                None => None,
            }
        };
        tokio::join!(checks, published)
    };
    if let Some(found) = found {
        ctx.target.apply_discovery(kb, found);
    }
    let ran = signed_in.into_iter().chain(ran).collect();
    build_report(&ctx, ran, start.elapsed(), spec.transcript)
}

/// The domain's MX alone, on the run's resolver (whose cache the full discovery
/// and the dns check then share).
async fn discover_mx(
    kb: &'static crate::knowledge::Knowledge,
    common: &Common,
    net: &crate::checks::NetOptions,
    domain: &str,
) -> crate::target::discovery::Discovery {
    match common.resolver(net) {
        Ok(resolver) => crate::discover::mx_only(kb, &resolver, net.timeout, domain).await,
        Err(e) => no_resolver(domain, e),
    }
}

/// What discovery says when the run has no resolver.
fn no_resolver(domain: &str, why: String) -> crate::target::discovery::Discovery {
    crate::target::discovery::Discovery {
        domain: domain.to_string(),
        steps: vec![crate::target::discovery::Step {
            source: "mx",
            outcome: "failed",
            detail: why,
        }],
        ..Default::default()
    }
}

/// The domain's servers, asked once per run for each domain, on the run's
/// resolver (the dns check's too); after `mx`, when the MX was asked already.
async fn discover(
    kb: &'static crate::knowledge::Knowledge,
    common: &Common,
    net: &crate::checks::NetOptions,
    user: &str,
    domain: &str,
    mx: Option<crate::target::discovery::Discovery>,
) -> crate::target::discovery::Discovery {
    let resolver = match common.resolver(net) {
        Ok(r) => r,
        Err(e) => return no_resolver(domain, e),
    };
    let opts = crate::discover::Options {
        timeout: net.timeout,
        extra_roots: net.extra_roots.clone(),
        port: net.autoconfig_port,
    };
    common
        .discovery(domain, || async {
            match mx {
                Some(mx) => crate::discover::after_mx(kb, &resolver, &opts, user, mx).await,
                None => crate::discover::domain(kb, &resolver, &opts, user, domain).await,
            }
        })
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
    let question = diagnose::question(ctx.kb, &diagnosis, &ctx.target.user);
    Report {
        question,
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
