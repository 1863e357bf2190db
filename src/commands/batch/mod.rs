//! `batch`: many mailboxes from a CSV or JSON-lines file, with bounded concurrency
//! overall and per domain (one tenant is not hammered), still at most one
//! authentication attempt per mailbox and protocol. The file names where each
//! secret comes from (an environment variable, or a file only its owner can read);
//! a file that holds a secret itself, or a secret file readable by others, is
//! refused before anything is sent.
//!
//! An account listed more than once (in any letter case) is tested once per
//! protocol; the duplicate rows are reported, not run (`dedupe`). One scrubber
//! knows every row's secret, since a server may quote one mailbox's password to
//! another.
//!
//! Each mailbox's report is rendered into its own buffer before it is written, so
//! JSON lines never interleave.

pub mod dedupe;
pub mod file;

use super::Outcome;
use crate::cli::{BatchArgs, Format};
use crate::knowledge::Knowledge;
use crate::report::model::Report;
use crate::secret::input;
use crate::secret::Secret;
use crate::{report, runner, target};
use file::{row_err, BatchError, Row};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

/// The largest batch file read (a thousand rows take about 100 KB).
pub const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Reads a row's secret from where the row says it is.
pub fn load_secret(path: &Path, line: usize, row: &Row) -> Result<Option<Secret>, BatchError> {
    if let Some(var) = &row.password_env {
        return input::from_required_env(var)
            .map(Some)
            .map_err(|e| row_err(path, line, e.to_string()));
    }
    if let Some(file) = &row.password_file {
        return input::from_file("password_file", file)
            .map(Some)
            .map_err(|e| row_err(path, line, e.to_string()));
    }
    Ok(None)
}

pub fn run(kb: &'static Knowledge, args: BatchArgs) -> anyhow::Result<Outcome> {
    let path = args.file.clone();
    let bytes = input::read_regular_file(&path, MAX_FILE).map_err(BatchError::from)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| BatchError::Read {
        path: path.display().to_string(),
        why: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })?;
    let rows = file::parse(&path, text)?;
    let net = super::net_options(&args.net)?;
    let selected = runner::select(&args.net.only, &args.net.skip);
    let today = args.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
    // Everything is validated before the first connection is made.
    let mut planned = Vec::with_capacity(rows.len());
    let mut claimed = dedupe::Claimed::new();
    let mut duplicates = Vec::new();
    for (line, row) in &rows {
        let overrides = target::Overrides {
            smtp: row.smtp.clone(),
            imap: row.imap.clone(),
            pop: row.pop.clone(),
        };
        let provider = row.provider.as_deref().unwrap_or("auto");
        let target = target::Target::build(kb, &row.email, provider, &overrides)
            .map_err(|e| row_err(&path, *line, e.to_string()))?;
        let secret = load_secret(&path, *line, row)?;
        let refresh = match &row.refresh_token_file {
            Some(f) => Some(
                input::from_file("refresh_token_file", f)
                    .map_err(|e| row_err(&path, *line, e.to_string()))?,
            ),
            None => None,
        };
        let client_secret = match &row.client_secret_file {
            Some(f) => Some(
                input::from_file("client_secret_file", f)
                    .map_err(|e| row_err(&path, *line, e.to_string()))?,
            ),
            None => None,
        };
        let plan = refresh.map(|r| {
            Arc::new(crate::checks::signin::Plan::refresh(
                row.client_id.clone().unwrap_or_default(),
                row.tenant.clone(),
                client_secret,
                r,
                row.refresh_token_file.clone(),
            ))
        });
        let mut row_selected = selected.clone();
        if let Some(d) = dedupe::dedupe(&target, *line, &mut row_selected, &mut claimed) {
            duplicates.push(d.text);
            if d.skipped {
                // Not run; its secret is still known to the scrubber.
                planned.push((target.user.clone(), None, secret, plan));
                continue;
            }
        }
        planned.push((
            target.user.clone(),
            Some((target, row_selected)),
            secret,
            plan,
        ));
    }
    for d in &duplicates {
        let line = format!("{}: {d}", path.display());
        let _ = writeln!(
            std::io::stderr(),
            "mailbox-doctor: {}",
            crate::net::scrub::escape_controls(&line)
        );
    }
    // One scrubber for the whole run; DNS answers, each domain's discovered servers
    // and tenant look-ups are shared by all the mailboxes too.
    let creds: Vec<crate::net::scrub::Credential> = planned
        .iter()
        .flat_map(|(user, _, s, plan)| {
            let password = s.as_ref().map(|secret| crate::net::scrub::Credential {
                user,
                secret,
                token: false,
            });
            let refresh = plan
                .as_ref()
                .and_then(|p| p.refresh_token.as_ref())
                .map(|secret| crate::net::scrub::Credential {
                    user,
                    secret,
                    token: true,
                });
            let client_secret =
                plan.as_ref()
                    .and_then(|p| p.client_secret.as_ref())
                    .map(|secret| crate::net::scrub::Credential {
                        user,
                        secret,
                        token: false,
                    });
            password.into_iter().chain(refresh).chain(client_secret)
        })
        .collect();
    let common = Arc::new(crate::checks::ctx::Common::new(
        crate::net::scrub::Scrubber::new(&creds),
    ));
    drop(creds);
    let specs: Vec<runner::Spec> = planned
        .into_iter()
        .filter_map(|(_, t, secret, plan)| {
            let (target, selected) = t?;
            Some(runner::Spec {
                target,
                secret,
                token: None,
                net: net.clone(),
                today,
                selected,
                transcript: args.net.transcript,
                observer: None,
                confirm: None,
                common: common.clone(),
                signin: plan,
            })
        })
        .collect();
    let format = args.output.format();
    let style = super::style(&args.output);
    let progress = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new(specs.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} mailboxes {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let rt = super::runtime()?;
    let mut reports: Vec<Report> = Vec::new();
    let mut statuses = Vec::with_capacity(specs.len());
    let mut out = std::io::stdout().lock();
    let (concurrency, soft) = crate::net::limits::fit_concurrency(args.concurrency as usize);
    if concurrency < args.concurrency as usize {
        let _ = writeln!(
            std::io::stderr(),
            "mailbox-doctor: --concurrency {} needs about {} open files, and this process may open {} (ulimit -n); checking {concurrency} mailboxes at once instead",
            args.concurrency,
            u64::from(args.concurrency) * crate::net::limits::FDS_PER_MAILBOX
                + crate::net::limits::RESERVE,
            soft
        );
    }
    let limits = runner::batch::Limits {
        concurrency,
        per_domain: (args.per_domain as usize).min(concurrency),
    };
    rt.block_on(runner::batch::check_all(kb, specs, limits, |report| {
        if format == Format::Json {
            // One compact line per mailbox, written whole.
            let mut line = serde_json::to_vec(&report).unwrap_or_default();
            line.push(b'\n');
            let _ = out.write_all(&line);
            let _ = out.flush();
        }
        if let Some(pb) = &progress {
            pb.inc(1);
        }
        statuses.push(report.status);
        // JSON lines are out already: only the other formats need the reports
        // at the end, so a long JSON batch holds none of them.
        if format != Format::Json {
            reports.push(report);
        }
    }));
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let status = runner::batch::aggregate(statuses);
    let mut buf = Vec::new();
    match format {
        Format::Json => {}
        Format::Nagios => report::batch::render_nagios(&reports, status, &mut buf)?,
        Format::Prometheus => report::prometheus::render_many(&reports, &mut buf)?,
        Format::Text => report::batch::render_table(&reports, status, &mut buf, &style)?,
    }
    if matches!(format, Format::Text | Format::Nagios) && !duplicates.is_empty() {
        writeln!(buf, "\nDuplicate rows ({}):", duplicates.len())?;
        for d in &duplicates {
            writeln!(buf, "  {d}")?;
        }
    }
    Ok(Outcome {
        output: buf,
        status,
    })
}
