//! Turns the aggregates into the report: the dated verdict of each legacy row
//! (from `checks/facts.toml`), the diagnosis of each error code (from
//! `checks/entra.toml` and `checks/diagnoses.toml`), the lockout risks, the order
//! of every section (what breaks first, first), and the status behind the exit
//! code. It reads the knowledge base; it never formats or prints.

use super::aggregate::{Aggregate, Legacy};
use super::model::*;
use crate::knowledge::Knowledge;
use crate::vocab::{OverallStatus, Severity};
use chrono::{DateTime, Utc};

/// What the report needs besides the aggregates.
pub struct Options {
    pub now: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub warning_days: i64,
    pub critical_days: i64,
    pub expected: Vec<String>,
    pub redacted: bool,
}

fn verdict(kb: &Knowledge, app: &str, opts: &Options) -> Verdict {
    let def = kb.entra.client_app(app);
    let fact = def.and_then(|d| d.fact.as_deref()).and_then(|f| kb.fact(f));
    let diagnosis = def
        .and_then(|d| d.diagnosis.as_deref())
        .or(Some("M365_BASIC_AUTH_DISABLED"))
        .and_then(|c| kb.diagnosis(c));
    let today = opts.now.date_naive();
    let days_left = fact.map(|f| (f.date - today).num_days());
    let summary = match (fact, days_left) {
        (Some(f), Some(d)) if d > 0 => format!("{} days left: {}", d, f.statement),
        (Some(f), _) => format!("past since {}: {}", f.date, f.statement),
        _ if def.is_none() => format!(
            "`{app}` is not a client app the knowledge base knows; Microsoft counts every named client app other than Browser and Mobile Apps and Desktop clients as legacy authentication"
        ),
        _ => "legacy authentication; the knowledge base has no dated end for this client app".into(),
    };
    Verdict {
        summary,
        fact: fact.map(|f| f.id.clone()),
        date: fact.map(|f| f.date),
        days_left,
        source: fact.map(|f| f.source.clone()),
        diagnosis: diagnosis.map(|d| d.code.clone()),
        fix: diagnosis.map(|d| d.fix.clone()),
    }
}

fn legacy_status(l: &Legacy, v: &Verdict, opts: &Options) -> ItemStatus {
    match v.days_left {
        Some(d) if l.successes > 0 && d <= opts.critical_days => ItemStatus::Critical,
        Some(d) if l.successes > 0 && d <= opts.warning_days => ItemStatus::Warning,
        _ => ItemStatus::Ok,
    }
}

/// Builds the report from everything read.
pub fn build(
    kb: &Knowledge,
    mut agg: Aggregate<'_>,
    inputs: Vec<InputReport>,
    opts: Options,
) -> SigninReport {
    let not_covered = not_covered(&agg);
    // The entries move into the report (no second copy of a large export's sets).
    let mut legacy: Vec<LegacyItem> = std::mem::take(&mut agg.legacy)
        .into_iter()
        .map(|((user, app), l)| {
            let v = verdict(kb, &app, &opts);
            LegacyItem {
                status: legacy_status(&l, &v, &opts),
                user,
                client_app: app,
                first_seen: l.span.first,
                last_seen: l.span.last,
                last_success: l.last_success,
                successes: l.successes,
                failures: l.failures,
                ips: l.ips.items,
                ips_omitted: l.ips.omitted,
                user_agents: l.user_agents.items,
                user_agents_omitted: l.user_agents.omitted,
                ca_not_applied: l.ca_not_applied,
                verdict: v,
            }
        })
        .collect();
    // What breaks first: worst status, then still succeeding, then the soonest date.
    legacy.sort_by(|a, b| {
        (
            a.status,
            a.successes == 0,
            a.verdict.date.is_none(),
            a.verdict.date,
        )
            .cmp(&(
                b.status,
                b.successes == 0,
                b.verdict.date.is_none(),
                b.verdict.date,
            ))
            .then(b.successes.cmp(&a.successes))
            .then(a.user.cmp(&b.user))
            .then(a.client_app.cmp(&b.client_app))
    });

    let failures = failures(kb, &agg);
    let lockout_risk = lockout(kb, &agg);

    let mut places: Vec<PlaceItem> = std::mem::take(&mut agg.places)
        .into_iter()
        .map(|(p, c)| PlaceItem {
            user: p.user,
            country: p.country,
            ip: p.ip,
            client_app: p.client_app,
            successes: c.successes,
            failures: c.failures,
            first_seen: c.span.first,
            last_seen: c.span.last,
        })
        .collect();
    places.sort_by(|a, b| {
        (a.successes == 0)
            .cmp(&(b.successes == 0))
            .then(b.successes.cmp(&a.successes))
            .then((b.failures).cmp(&a.failures))
            .then(a.user.cmp(&b.user))
            .then(a.ip.cmp(&b.ip))
    });

    let mut status = OverallStatus::Ok;
    let mut raise = |s: OverallStatus| {
        let rank = |s: OverallStatus| s.exit_code();
        if rank(s) > rank(status) {
            status = s;
        }
    };
    for l in &legacy {
        match l.status {
            ItemStatus::Critical => raise(OverallStatus::Critical),
            ItemStatus::Warning => raise(OverallStatus::Warning),
            ItemStatus::Ok => {}
        }
    }
    if !lockout_risk.is_empty() {
        raise(OverallStatus::Warning);
    }

    let mut notes = notes(&inputs);
    if let Some(why) = unreadable(agg.rows_read, agg.rows_malformed) {
        raise(OverallStatus::Unknown);
        notes.push(why);
    }
    let lock = &kb.entra.lockout;
    SigninReport {
        schema_version: SCHEMA_VERSION,
        tool: crate::report::model::Tool::current(),
        status,
        now: opts.now,
        since: opts.since,
        warning_days: opts.warning_days,
        critical_days: opts.critical_days,
        expected_countries: opts.expected.clone(),
        redacted: opts.redacted,
        inputs,
        rows_read: agg.rows_read,
        rows_malformed: agg.rows_malformed,
        rows_outside_window: agg.rows_outside_window,
        rows_analyzed: agg.rows_read - agg.rows_malformed - agg.rows_outside_window,
        legacy_rows: agg.legacy_rows,
        first_seen: agg.span.map(|s| s.first),
        last_seen: agg.span.map(|s| s.last),
        malformed: agg
            .malformed
            .iter()
            .map(|m| MalformedItem {
                input: m.input.clone(),
                line: m.line,
                reason: m.reason.clone(),
            })
            .collect(),
        legacy,
        failures,
        lockout: LockoutPolicy {
            threshold: lock.threshold,
            statement: lock.statement.clone(),
            same_password: lock.same_password.clone(),
            source: lock.source.clone(),
        },
        lockout_risk,
        unexpected_locations: places,
        rows_without_location: agg.rows_without_location,
        not_covered_by_ca: not_covered,
        omitted: Omitted {
            legacy_rows: agg.omitted.legacy_rows,
            lockout_rows: agg.omitted.lockout_rows,
            place_rows: agg.omitted.place_rows,
        },
        notes,
    }
}

/// Legacy sign-ins no Conditional Access policy applied to, by user and app.
fn not_covered(agg: &Aggregate<'_>) -> Vec<CaItem> {
    let mut out: Vec<CaItem> = agg
        .legacy
        .iter()
        .filter(|(_, l)| l.ca_not_applied > 0)
        .map(|((user, app), l)| CaItem {
            user: user.clone(),
            client_app: app.clone(),
            sign_ins: l.ca_not_applied,
            successes: l.ca_not_applied_successes,
            last_seen: l.span.last,
        })
        .collect();
    out.sort_by(|a, b| {
        b.successes
            .cmp(&a.successes)
            .then(b.sign_ins.cmp(&a.sign_ins))
            .then(a.user.cmp(&b.user))
            .then(a.client_app.cmp(&b.client_app))
    });

    out
}

fn failures(kb: &Knowledge, agg: &Aggregate<'_>) -> Vec<FailureItem> {
    let mut out: Vec<FailureItem> = agg
        .failures
        .iter()
        .map(|(&code, f)| {
            let entry = kb.entra(code);
            let diag = entry.and_then(|e| kb.diagnosis(&e.diagnosis));
            FailureItem {
                error_code: code,
                name: entry.and_then(|e| e.name.clone()),
                diagnosis: diag.map(|d| d.code.clone()),
                severity: diag.map(|d| d.severity),
                title: match diag {
                    Some(d) => d.title.clone(),
                    None if code == 0 => "failed without an error code".into(),
                    None => format!(
                        "not in the knowledge base: see https://login.microsoftonline.com/error?code={code}"
                    ),
                },
                count: f.count,
                legacy_count: f.legacy,
                users: f.users.items.clone(),
                users_omitted: f.users.omitted,
                client_apps: f.client_apps.items.clone(),
                first_seen: f.span.first,
                last_seen: f.span.last,
                microsoft_text: entry.map(|e| e.text.clone()),
                source: entry.map(|e| e.source.clone()),
                failure_reason: f.reason.clone(),
                fix: diag.map(|d| d.fix.clone()),
                actor: diag.map(|d| d.actor),
            }
        })
        .collect();
    // The causes first, normal interruptions last; then the most frequent.
    out.sort_by(|a, b| {
        (a.severity == Some(Severity::Info))
            .cmp(&(b.severity == Some(Severity::Info)))
            .then(b.count.cmp(&a.count))
            .then(a.error_code.cmp(&b.error_code))
    });
    out
}

fn lockout(kb: &Knowledge, agg: &Aggregate<'_>) -> Vec<LockoutItem> {
    let threshold = u64::from(kb.entra.lockout.threshold);
    let repeated = (threshold / 2).max(2);
    let mut out: Vec<LockoutItem> = agg
        .lockout
        .iter()
        // Wrong passwords again and again, or repeated ones with a lock after them.
        .filter(|(_, l)| {
            let locked_after = matches!(
                (l.bad_span, l.locked_span),
                (Some(b), Some(k)) if k.last >= b.first
            );
            l.bad_password >= repeated || (l.bad_password >= 2 && locked_after)
        })
        .map(|(d, l)| {
            let locked_after = match (l.bad_span, l.locked_span) {
                (Some(b), Some(k)) => k.last >= b.first,
                _ => false,
            };
            let mut summary = format!(
                "{} wrong-password failures from this device",
                l.bad_password
            );
            if let Some(b) = l.bad_span {
                summary.push_str(&format!(
                    " between {} and {}",
                    b.first.format("%Y-%m-%d %H:%M"),
                    b.last.format("%Y-%m-%d %H:%M")
                ));
            }
            if let Some(k) = l.locked_span {
                summary.push_str(&format!(
                    "; refused as locked (50053) {} time{}{}, last at {}",
                    l.locked,
                    if l.locked == 1 { "" } else { "s" },
                    if locked_after { " after them" } else { "" },
                    k.last.format("%Y-%m-%d %H:%M")
                ));
            }
            if l.bad_password >= threshold {
                summary.push_str(&format!(
                    "; that is the default smart lockout threshold ({threshold}) or more"
                ));
            }
            LockoutItem {
                user: d.user.clone(),
                ip: d.ip.clone(),
                user_agent: d.user_agent.clone(),
                client_app: d.client_app.clone(),
                bad_password_failures: l.bad_password,
                first_failure: l.bad_span.map(|s| s.first),
                last_failure: l.bad_span.map(|s| s.last),
                locked: l.locked,
                last_locked: l.locked_span.map(|s| s.last),
                locked_after_failures: locked_after,
                reaches_threshold: l.bad_password >= threshold,
                summary,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.locked_after_failures
            .cmp(&a.locked_after_failures)
            .then(b.locked.cmp(&a.locked))
            .then(b.bad_password_failures.cmp(&a.bad_password_failures))
            .then(a.user.cmp(&b.user))
            .then(a.ip.cmp(&b.ip))
    });
    out
}

/// The share of malformed rows above which a report is UNKNOWN: a file this
/// tool could not read is no clean bill of health (one stray quote in a large
/// export costs one row; a broken or hostile file costs many).
pub const MAX_MALFORMED_PERCENT: u64 = 1;

/// Why the rows read say too little, when more than `MAX_MALFORMED_PERCENT` of
/// them are malformed.
fn unreadable(read: u64, malformed: u64) -> Option<String> {
    if malformed == 0 || malformed * 100 <= read * MAX_MALFORMED_PERCENT {
        return None;
    }
    Some(format!(
        "{malformed} of the {read} rows read could not be read (more than {MAX_MALFORMED_PERCENT}%: see the malformed rows): the result is UNKNOWN, since the rows that were not read may hold what matters"
    ))
}

fn notes(inputs: &[InputReport]) -> Vec<String> {
    let pages: u64 = inputs.iter().filter_map(|i| i.pages).sum();
    let with_next: u64 = inputs.iter().filter_map(|i| i.pages_with_next_link).sum();
    let mut notes = Vec::new();
    if pages > 0 && with_next == pages {
        notes.push(format!(
            "every one of the {pages} Microsoft Graph pages read points to a next page (@odata.nextLink): the last page is missing, so this report is incomplete"
        ));
    }
    notes
}
