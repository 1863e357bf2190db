//! CSV: one row per finding of every section (and per malformed row), with the
//! same columns throughout, so a spreadsheet can filter and sort it.

use crate::signins::model::SigninReport;
use chrono::{DateTime, Utc};
use std::io::Write;

const HEADER: &[&str] = &[
    "section",
    "status",
    "user",
    "client_app",
    "error_code",
    "diagnosis",
    "country",
    "ip",
    "user_agent",
    "first_seen",
    "last_seen",
    "successes",
    "failures",
    "count",
    "date",
    "input",
    "line",
    "summary",
    "fix",
];

#[derive(Default)]
struct Row {
    section: &'static str,
    status: String,
    user: String,
    client_app: String,
    error_code: String,
    diagnosis: String,
    country: String,
    ip: String,
    user_agent: String,
    first_seen: String,
    last_seen: String,
    successes: String,
    failures: String,
    count: String,
    date: String,
    input: String,
    line: String,
    summary: String,
    fix: String,
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn opt_time(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(time).unwrap_or_default()
}

pub fn render(r: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    w.write_record(HEADER).map_err(io)?;
    let mut rows = Vec::new();
    for l in &r.legacy {
        rows.push(Row {
            section: "legacy",
            status: serde_plain(&l.status),
            user: l.user.clone(),
            client_app: l.client_app.clone(),
            diagnosis: l.verdict.diagnosis.clone().unwrap_or_default(),
            ip: l.ips.join(" "),
            user_agent: l.user_agents.join(" | "),
            first_seen: time(&l.first_seen),
            last_seen: time(&l.last_seen),
            successes: l.successes.to_string(),
            failures: l.failures.to_string(),
            count: (l.successes + l.failures).to_string(),
            date: l.verdict.date.map(|d| d.to_string()).unwrap_or_default(),
            summary: l.verdict.summary.clone(),
            fix: l.verdict.fix.clone().unwrap_or_default(),
            ..Row::default()
        });
    }
    for f in &r.failures {
        rows.push(Row {
            section: "failures",
            status: f.severity.map(|s| serde_plain(&s)).unwrap_or_default(),
            user: f.users.join(" "),
            client_app: f.client_apps.join(" | "),
            error_code: f.error_code.to_string(),
            diagnosis: f.diagnosis.clone().unwrap_or_default(),
            first_seen: time(&f.first_seen),
            last_seen: time(&f.last_seen),
            failures: f.count.to_string(),
            count: f.count.to_string(),
            summary: f.title.clone(),
            fix: f.fix.clone().unwrap_or_default(),
            ..Row::default()
        });
    }
    for k in &r.lockout_risk {
        rows.push(Row {
            section: "lockout_risk",
            status: "warning".into(),
            user: k.user.clone(),
            client_app: k.client_app.clone(),
            error_code: if k.locked > 0 { "50053" } else { "50126" }.into(),
            diagnosis: "ACCOUNT_LOCKED".into(),
            ip: k.ip.clone(),
            user_agent: k.user_agent.clone(),
            first_seen: opt_time(&k.first_failure),
            last_seen: opt_time(&k.last_locked.max(k.last_failure)),
            failures: (k.bad_password_failures + k.locked).to_string(),
            count: k.bad_password_failures.to_string(),
            summary: k.summary.clone(),
            fix: r.lockout.statement.clone(),
            ..Row::default()
        });
    }
    for p in &r.unexpected_locations {
        rows.push(Row {
            section: "unexpected_locations",
            status: if p.successes > 0 { "warning" } else { "ok" }.into(),
            user: p.user.clone(),
            client_app: p.client_app.clone(),
            country: p.country.clone(),
            ip: p.ip.clone(),
            first_seen: time(&p.first_seen),
            last_seen: time(&p.last_seen),
            successes: p.successes.to_string(),
            failures: p.failures.to_string(),
            count: (p.successes + p.failures).to_string(),
            ..Row::default()
        });
    }
    for c in &r.not_covered_by_ca {
        rows.push(Row {
            section: "not_covered_by_ca",
            status: if c.successes > 0 { "warning" } else { "ok" }.into(),
            user: c.user.clone(),
            client_app: c.client_app.clone(),
            last_seen: time(&c.last_seen),
            successes: c.successes.to_string(),
            count: c.sign_ins.to_string(),
            summary: "legacy sign-ins that no Conditional Access policy applied to".into(),
            ..Row::default()
        });
    }
    for m in &r.malformed {
        rows.push(Row {
            section: "malformed",
            input: m.input.clone(),
            line: m.line.to_string(),
            summary: m.reason.clone(),
            ..Row::default()
        });
    }
    for row in rows {
        let cells = [
            row.section,
            &row.status,
            &row.user,
            &row.client_app,
            &row.error_code,
            &row.diagnosis,
            &row.country,
            &row.ip,
            &row.user_agent,
            &row.first_seen,
            &row.last_seen,
            &row.successes,
            &row.failures,
            &row.count,
            &row.date,
            &row.input,
            &row.line,
            &row.summary,
            &row.fix,
        ];
        w.write_record(cells.iter().map(|c| inert(c).into_owned()))
            .map_err(io)?;
    }
    w.flush()
}

/// A cell a spreadsheet will not run as a formula: text from the log that starts
/// with `=`, `+`, `-` or `@` gets a leading apostrophe.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A unit enum's serde name ("critical").
fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
