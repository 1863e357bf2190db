//! `batch`: many mailboxes from a CSV or JSON-lines file, with bounded concurrency
//! overall and per domain (one tenant is not hammered), still at most one
//! authentication attempt per mailbox and protocol. The file names where each
//! secret comes from (an environment variable, or a file only its owner can read);
//! a file that holds a secret itself, or a secret file readable by others, is
//! refused before anything is sent.
//!
//! Each mailbox's report is rendered into its own buffer before it is written, so
//! JSON lines never interleave.

use crate::cli::{BatchArgs, Format};
use crate::knowledge::Knowledge;
use crate::report::model::Report;
use crate::secret::Secret;
use crate::vocab::OverallStatus;
use crate::{runner, target, Outcome};
use futures::StreamExt as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// One mailbox to check, as read from the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub email: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub smtp: Option<String>,
    #[serde(default)]
    pub imap: Option<String>,
    #[serde(default)]
    pub pop: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: {why}")]
    Row {
        path: String,
        line: usize,
        why: String,
    },
    #[error("{path} holds no mailbox")]
    Empty { path: String },
}

const SECRET_COLUMNS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "secret",
    "token",
    "app_password",
];

fn row_err(path: &Path, line: usize, why: impl Into<String>) -> BatchError {
    BatchError::Row {
        path: path.display().to_string(),
        line,
        why: why.into(),
    }
}

fn secret_column_error(path: &Path, line: usize, col: &str) -> BatchError {
    row_err(
        path,
        line,
        format!(
            "column `{col}` would hold a secret; a batch file must never hold passwords or tokens: name an environment variable in `password_env` or a private file in `password_file` instead"
        ),
    )
}

/// Parses the file: JSON lines when the first non-blank character is `{`, else CSV
/// with a header row. Returns rows with their line numbers.
pub fn parse(path: &Path, text: &str) -> Result<Vec<(usize, Row)>, BatchError> {
    let mut rows = Vec::new();
    if text.trim_start().starts_with('{') {
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| row_err(path, line_no, format!("not JSON: {e}")))?;
            if let Some(obj) = v.as_object() {
                if let Some(col) = obj
                    .keys()
                    .find(|k| SECRET_COLUMNS.contains(&k.to_ascii_lowercase().as_str()))
                {
                    return Err(secret_column_error(path, line_no, col));
                }
            }
            let row: Row =
                serde_json::from_value(v).map_err(|e| row_err(path, line_no, e.to_string()))?;
            rows.push((line_no, row));
        }
    } else {
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers = rd
            .headers()
            .map_err(|e| row_err(path, 1, format!("bad CSV header: {e}")))?
            .clone();
        if let Some(col) = headers
            .iter()
            .find(|h| SECRET_COLUMNS.contains(&h.to_ascii_lowercase().as_str()))
        {
            return Err(secret_column_error(path, 1, col));
        }
        for rec in rd.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                row_err(path, line, format!("bad CSV: {e}"))
            })?;
            let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
            let mut row = Row::default();
            for (h, v) in headers.iter().zip(rec.iter()) {
                let v = (!v.is_empty()).then(|| v.to_string());
                match h {
                    "email" => row.email = v.unwrap_or_default(),
                    "provider" => row.provider = v,
                    "smtp" => row.smtp = v,
                    "imap" => row.imap = v,
                    "pop" => row.pop = v,
                    "password_env" => row.password_env = v,
                    "password_file" => row.password_file = v.map(PathBuf::from),
                    other => return Err(row_err(path, 1, format!("unknown column `{other}`"))),
                }
            }
            rows.push((line, row));
        }
    }
    for (line, row) in &rows {
        if row.email.trim().is_empty() {
            return Err(row_err(path, *line, "no email"));
        }
        if row.password_env.is_some() && row.password_file.is_some() {
            return Err(row_err(
                path,
                *line,
                "give password_env or password_file, not both",
            ));
        }
    }
    if rows.is_empty() {
        return Err(BatchError::Empty {
            path: path.display().to_string(),
        });
    }
    Ok(rows)
}

/// Reads a row's secret from where the row says it is.
pub fn load_secret(path: &Path, line: usize, row: &Row) -> Result<Option<Secret>, BatchError> {
    if let Some(var) = &row.password_env {
        let v = std::env::var(var).map_err(|_| {
            row_err(
                path,
                line,
                format!("environment variable `{var}` is not set (or not UTF-8)"),
            )
        })?;
        return Ok(Some(Secret::new(v)));
    }
    if let Some(file) = &row.password_file {
        let meta = std::fs::metadata(file).map_err(|e| {
            row_err(
                path,
                line,
                format!("cannot read password_file {}: {e}", file.display()),
            )
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(row_err(
                    path,
                    line,
                    format!(
                        "password_file {} is readable by group or others (mode {mode:03o}); run `chmod 600 {}`",
                        file.display(),
                        file.display()
                    ),
                ));
            }
        }
        let _ = meta;
        let f = std::fs::File::open(file).map_err(|e| {
            row_err(
                path,
                line,
                format!("cannot read password_file {}: {e}", file.display()),
            )
        })?;
        let mut rd = std::io::BufReader::new(f);
        let s = crate::secret::read_secret_line(&mut rd)
            .map_err(|e| row_err(path, line, format!("password_file {}: {e}", file.display())))?;
        return Ok(Some(s));
    }
    Ok(None)
}

pub fn run(kb: &'static Knowledge, args: BatchArgs) -> anyhow::Result<Outcome> {
    let path = args.file.clone();
    let text = std::fs::read_to_string(&path).map_err(|source| BatchError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let rows = parse(&path, &text)?;
    let net = crate::net_options(&args.net)?;
    let selected = runner::select(&args.net.only, &args.net.skip);
    let today = args.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
    // Everything is validated before the first connection is made.
    let mut specs = Vec::with_capacity(rows.len());
    // DNS answers and tenant look-ups are shared by all the mailboxes.
    let common: Arc<crate::checks::ctx::Common> = Default::default();
    let mut by_mx = Vec::new();
    for (line, row) in &rows {
        let overrides = target::Overrides {
            smtp: row.smtp.clone(),
            imap: row.imap.clone(),
            pop: row.pop.clone(),
        };
        let provider = row.provider.as_deref().unwrap_or("auto");
        let target = target::Target::build(kb, &row.email, provider, &overrides)
            .map_err(|e| row_err(&path, *line, e.to_string()))?;
        // As `check` does: an unknown domain with no servers given is placed by
        // its MX (asked once per domain, below).
        let no_overrides = row.smtp.is_none() && row.imap.is_none() && row.pop.is_none();
        if target.provider_source == "default" && no_overrides {
            if let Some(d) = &target.domain {
                by_mx.push((specs.len(), d.to_ascii_lowercase(), overrides.clone()));
            }
        }
        let secret = load_secret(&path, *line, row)?;
        specs.push(runner::Spec {
            target,
            secret,
            token: None,
            net: net.clone(),
            today,
            selected: selected.clone(),
            transcript: args.net.transcript,
            observer: None,
            common: common.clone(),
        });
    }
    let format = args.output.format();
    let style = crate::style(&args.output);
    let progress = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new(specs.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} mailboxes {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let rt = crate::runtime()?;
    let mut reports: Vec<Report> = Vec::with_capacity(specs.len());
    let mut out = std::io::stdout().lock();
    rt.block_on(async {
        place_by_mx(
            kb,
            &common,
            &net,
            &mut specs,
            by_mx,
            args.concurrency as usize,
        )
        .await;
        let per_domain: Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>> = Default::default();
        let limit = args.per_domain as usize;
        let stream = futures::stream::iter(specs.into_iter().map(|spec| {
            let domain = spec.target.domain.clone().unwrap_or_default();
            let sem = per_domain
                .lock()
                .map(|mut m| {
                    m.entry(domain)
                        .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                        .clone()
                })
                .unwrap_or_else(|_| Arc::new(Semaphore::new(limit)));
            async move {
                let _permit = sem.acquire_owned().await.ok();
                runner::check_mailbox(kb, spec).await
            }
        }))
        .buffer_unordered(args.concurrency as usize);
        futures::pin_mut!(stream);
        while let Some(report) = stream.next().await {
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
            reports.push(report);
        }
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let status = aggregate(&reports);
    let mut buf = Vec::new();
    match format {
        Format::Json => {}
        Format::Nagios => render_nagios(&reports, status, &mut buf)?,
        Format::Prometheus => crate::report::prometheus::render_many(&reports, &mut buf)?,
        Format::Text => render_table(&reports, status, &mut buf, &style)?,
    }
    Ok(Outcome {
        output: buf,
        status,
    })
}

/// Moves the mailboxes `by_mx` names (index, domain, overrides) to the provider
/// their domain's MX points at, asking each domain once.
async fn place_by_mx(
    kb: &'static Knowledge,
    common: &crate::checks::ctx::Common,
    net: &crate::checks::NetOptions,
    specs: &mut [runner::Spec],
    by_mx: Vec<(usize, String, target::Overrides)>,
    concurrency: usize,
) {
    let Ok(resolver) = common.resolver(net) else {
        return;
    };
    let mut domains: Vec<&str> = by_mx.iter().map(|(_, d, _)| d.as_str()).collect();
    domains.sort_unstable();
    domains.dedup();
    let found: HashMap<String, Option<String>> = futures::stream::iter(domains)
        .map(|d| {
            let resolver = &resolver;
            async move { (d.to_string(), target::provider_by_mx(kb, resolver, d).await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (i, domain, overrides) in by_mx {
        let Some(Some(id)) = found.get(&domain) else {
            continue;
        };
        let spec = &mut specs[i];
        if let Ok(mut t) = target::Target::build(kb, &spec.target.user, id, &overrides) {
            t.provider_source = "mx";
            spec.target = t;
        }
    }
}

/// The worst status of all mailboxes (critical beats unknown beats warning).
pub fn aggregate(reports: &[Report]) -> OverallStatus {
    let rank = |s: OverallStatus| match s {
        OverallStatus::Ok => 0,
        OverallStatus::Warning => 1,
        OverallStatus::Unknown => 2,
        OverallStatus::Critical => 3,
    };
    reports
        .iter()
        .map(|r| r.status)
        .max_by_key(|s| rank(*s))
        .unwrap_or(OverallStatus::Unknown)
}

fn counts(reports: &[Report]) -> [usize; 4] {
    let mut c = [0; 4];
    for r in reports {
        c[r.status.exit_code() as usize] += 1;
    }
    c
}

fn render_table(
    reports: &[Report],
    status: OverallStatus,
    out: &mut dyn Write,
    _style: &crate::report::text::Style,
) -> std::io::Result<()> {
    let mut sorted: Vec<&Report> = reports.iter().collect();
    sorted.sort_by(|a, b| a.target.user.cmp(&b.target.user));
    writeln!(
        out,
        "{:<34} {:<9} {:>7}  ROOT CAUSE",
        "MAILBOX", "STATUS", "MS"
    )?;
    for r in sorted {
        let cause = r.diagnosis.first().map(|d| d.code.as_str()).unwrap_or("-");
        let mut user = r.target.user.clone();
        if user.chars().count() > 34 {
            user = user.chars().take(33).collect::<String>() + "~";
        }
        writeln!(
            out,
            "{user:<34} {:<9} {:>7}  {cause}",
            r.status.upper(),
            r.duration_ms
        )?;
    }
    let [ok, warn, crit, unk] = counts(reports);
    writeln!(
        out,
        "\n{} mailboxes: {ok} ok, {warn} warning, {crit} critical, {unk} unknown. Status: {}",
        reports.len(),
        status.upper()
    )
}

fn render_nagios(
    reports: &[Report],
    status: OverallStatus,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let [ok, warn, crit, unk] = counts(reports);
    writeln!(
        out,
        "MAILBOX-DOCTOR {} - {crit} critical, {warn} warning, {unk} unknown, {ok} ok of {} mailboxes | 'ok'={ok};;;0 'warning'={warn};;;0 'critical'={crit};;;0 'unknown'={unk};;;0",
        status.upper(),
        reports.len()
    )?;
    for r in reports.iter().filter(|r| r.status != OverallStatus::Ok) {
        let cause = r.diagnosis.first().map(|d| d.code.as_str()).unwrap_or("-");
        writeln!(out, "[{}] {}: {cause}", r.status.upper(), r.target.user)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_lines_parse() {
        let p = Path::new("t.csv");
        let rows = parse(
            p,
            "email,provider,password_env\na@x.com,gmail,PW_A\nb@y.com,,\n",
        )
        .expect("csv");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1.provider.as_deref(), Some("gmail"));
        assert_eq!(rows[1].1.password_env, None);
        let rows = parse(
            p,
            "{\"email\":\"a@x.com\",\"password_env\":\"PW\"}\n\n{\"email\":\"b@y.com\"}\n",
        )
        .expect("jsonl");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 3);
    }

    #[test]
    fn a_secret_in_the_file_is_refused_without_echoing_it() {
        let p = Path::new("t.csv");
        let e = parse(p, "email,password\na@x.com,hunter2-canary\n").expect_err("refused");
        let msg = e.to_string();
        assert!(
            msg.contains("must never hold passwords") && !msg.contains("hunter2"),
            "{msg}"
        );
        let e = parse(
            p,
            "{\"email\":\"a@x.com\",\"Password\":\"hunter2-canary\"}\n",
        )
        .expect_err("refused");
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn bad_rows_are_clear_errors() {
        let p = Path::new("t.csv");
        for bad in [
            "",
            "email\n",
            "email,colour\na@x.com,red\n",
            "{\"email\":\"\"}",
            "{not json",
        ] {
            assert!(parse(p, bad).is_err(), "{bad:?}");
        }
    }
}
