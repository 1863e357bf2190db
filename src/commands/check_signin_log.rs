//! `check ... --signin-log`: once the checks are in, each refused login (SMTP,
//! IMAP or POP) is looked up in the Entra sign-in logs (`signins::attempt`), its
//! findings are added to that protocol's check, and the diagnosis and status are
//! made again from every finding. A record whose code the knowledge base knows
//! makes the ambiguous M365_AUTH_UNSUCCESSFUL a note and its own diagnosis the
//! root cause. The Graph token is a `Secret` from a file only its owner can read
//! or from the environment, never from argv, and the run's scrubber knows it.

use crate::cli::CheckArgs;
use crate::knowledge::Knowledge;
use crate::net::scrub::Scrubber;
use crate::report::model::Report;
use crate::secret::{input, Secret};
use crate::signins::attempt::{self, Lookup, Outcome};
use crate::signins::graph::{self, Kind, Version};
use crate::vocab::{CheckId, Finding, Protocol, Severity};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The environment variable a Graph access token may come from.
pub const GRAPH_TOKEN_ENV: &str = "MAILBOX_DOCTOR_GRAPH_TOKEN";

/// The Graph token of `--signin-log`: `--graph-token-file`, else the environment.
pub fn read_token(args: &CheckArgs) -> anyhow::Result<Option<Secret>> {
    let a = &args.signin_log;
    if !a.enabled {
        return Ok(None);
    }
    let raw = match &a.graph_token_file {
        Some(f) => input::from_file("--graph-token-file", f)?,
        None => match input::from_env(GRAPH_TOKEN_ENV)? {
            Some(s) => s,
            None => anyhow::bail!(
                "--signin-log needs a Microsoft Graph token with AuditLog.Read.All: --graph-token-file FILE, or {GRAPH_TOKEN_ENV}"
            ),
        },
    };
    let token = Secret::new(raw.expose().trim().to_string());
    if token.is_empty() {
        anyhow::bail!("the Graph token is empty; nothing was sent");
    }
    Ok(Some(token))
}

/// What the look-ups need from the run.
pub struct Run<'a> {
    pub kb: &'a Knowledge,
    pub args: &'a CheckArgs,
    pub token: &'a Secret,
    pub scrub: &'a Scrubber,
    pub timeout: Duration,
    pub extra_roots: Vec<Vec<u8>>,
    pub dns_server: Option<std::net::SocketAddr>,
    /// When the run started and ended: the attempts happened in between.
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
}

/// Looks up each refused login of `report` and makes the diagnosis again.
pub async fn add(run: &Run<'_>, mut report: Report) -> Report {
    let a = &run.args.signin_log;
    let Some(url) = crate::net::http::parse_https_url(a.graph_url.trim_end_matches('/')) else {
        return with_note(
            report,
            format!(
                "--signin-log-graph-url {} is not an https:// URL",
                a.graph_url
            ),
        );
    };
    let wait = Duration::from_secs_f64(a.signin_log_wait);
    let opts = graph::Options {
        url,
        version: Version::Beta,
        kinds: vec![Kind::Interactive],
        since: run.started,
        until: run.ended,
        client_apps: Vec::new(),
        user: None,
        page_size: 50,
        timeout: run.timeout,
        deadline: tokio::time::Instant::now() + wait,
        max_retry_after: Duration::from_secs(60),
        extra_roots: run.extra_roots.clone(),
        dns_server: run.dns_server,
    };
    let endpoint = format!(
        "https://{}{}/beta/auditLogs/signIns",
        opts.url.authority(),
        opts.url.base
    );
    let mut looked = false;
    for p in [Protocol::Smtp, Protocol::Imap, Protocol::Pop] {
        let Some(check) = report.checks.iter().position(|c| c.id == p.check_id()) else {
            continue;
        };
        let refused = report.checks[check]
            .findings
            .iter()
            .any(|f| attempt::REFUSALS.contains(&f.code.as_str()));
        if !refused {
            continue;
        }
        looked = true;
        // Entra stamps the attempt when it handles it: a margin either side.
        let l = Lookup {
            user: report.target.user.clone(),
            protocol: p,
            from: run.started - chrono::Duration::minutes(2),
            to: run.ended + chrono::Duration::minutes(2),
            wait,
            poll: Duration::from_secs_f64(a.signin_log_poll),
        };
        let outcome = attempt::look_up(&opts, &l, run.token, run.scrub).await;
        let found = run.kb.entra(match &outcome {
            Outcome::Found { record, .. } => record.error_code,
            _ => 0,
        });
        let new = attempt::findings(run.kb, &l, &endpoint, &outcome);
        let c = &mut report.checks[check];
        if found.is_some() {
            for f in c
                .findings
                .iter_mut()
                .filter(|f| attempt::ambiguous(&f.code))
            {
                f.severity = Severity::Info;
                f.message
                    .push_str(" (the sign-in log names the cause: see the record)");
            }
        }
        c.findings
            .extend(new.into_iter().map(|f| scrubbed(run.scrub, f)));
    }
    if !looked {
        return with_note(
            report,
            "no login was refused, so no sign-in was looked up in the Entra sign-in logs".into(),
        );
    }
    rediagnose(run.kb, report)
}

fn scrubbed(scrub: &Scrubber, mut f: Finding) -> Finding {
    f.message = scrub.scrub(&f.message);
    f.evidence = f.evidence.map(|e| scrub.scrub(&e));
    f
}

/// A remark on the look-up, as an informational finding of the first check.
fn with_note(mut report: Report, note: String) -> Report {
    if let Some(c) = report.checks.first_mut() {
        c.findings.push(Finding::new(
            "SIGNIN_LOG_NOT_LOOKED_UP",
            Severity::Info,
            note,
        ));
    }
    report
}

/// The diagnosis and status from every finding, as the runner makes them.
fn rediagnose(kb: &Knowledge, mut report: Report) -> Report {
    let findings: Vec<(CheckId, &Finding)> = report
        .checks
        .iter()
        .flat_map(|c| c.findings.iter().map(move |f| (c.id, f)))
        .collect();
    let tested: Vec<crate::vocab::Endpoint> = report
        .target
        .endpoints
        .iter()
        .filter(|e| report.checks.iter().any(|c| c.id == e.protocol.check_id()))
        .cloned()
        .collect();
    let diagnosis = crate::diagnose::diagnose(
        kb,
        &findings,
        &report.target.user,
        report.target.domain.as_deref(),
        &tested,
    );
    let statuses: Vec<_> = report.checks.iter().map(|c| c.status).collect();
    report.status = crate::diagnose::overall(&diagnosis, &statuses);
    report.diagnosis = diagnosis;
    report
}
