//! Prometheus text exposition format: gauges per mailbox and check, for a
//! node-exporter textfile collector or a Pushgateway. Label values are escaped as
//! the format requires; several reports (batch) share one HELP/TYPE header.

use crate::report::model::Report;
use crate::vocab::Status;
use std::io::{self, Write};

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Seconds in a day: the days the report counts, in the base unit Prometheus
/// names require (promtool refuses `_days`).
const DAY: i64 = 86_400;

fn check_value(s: Status) -> i32 {
    match s {
        Status::Pass => 0,
        Status::Warn => 1,
        Status::Fail => 2,
        Status::Error => 3,
        Status::Skip => -1,
    }
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    render_many(std::slice::from_ref(report), out)
}

pub fn render_many(reports: &[Report], out: &mut dyn Write) -> io::Result<()> {
    let family = |out: &mut dyn Write, name: &str, help: &str| -> io::Result<()> {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")
    };
    family(
        out,
        "mailbox_doctor_status",
        "Overall status of the mailbox: 0 ok, 1 warning, 2 critical, 3 unknown.",
    )?;
    for r in reports {
        writeln!(
            out,
            "mailbox_doctor_status{{mailbox=\"{}\"}} {}",
            esc(&r.target.user),
            r.status.exit_code()
        )?;
    }
    family(
        out,
        "mailbox_doctor_duration_seconds",
        "Wall time of the whole run.",
    )?;
    for r in reports {
        writeln!(
            out,
            "mailbox_doctor_duration_seconds{{mailbox=\"{}\"}} {:.3}",
            esc(&r.target.user),
            r.duration_ms as f64 / 1000.0
        )?;
    }
    family(
        out,
        "mailbox_doctor_check_status",
        "Status of one check: 0 pass, 1 warn, 2 fail, 3 error, -1 skipped.",
    )?;
    for r in reports {
        for c in &r.checks {
            writeln!(
                out,
                "mailbox_doctor_check_status{{mailbox=\"{}\",check=\"{}\"}} {}",
                esc(&r.target.user),
                c.id.as_str(),
                check_value(c.status)
            )?;
        }
    }
    family(
        out,
        "mailbox_doctor_check_duration_seconds",
        "Wall time of one check.",
    )?;
    for r in reports {
        for c in r.checks.iter().filter(|c| c.status != Status::Skip) {
            writeln!(
                out,
                "mailbox_doctor_check_duration_seconds{{mailbox=\"{}\",check=\"{}\"}} {:.3}",
                esc(&r.target.user),
                c.id.as_str(),
                c.duration_ms as f64 / 1000.0
            )?;
        }
    }
    family(
        out,
        "mailbox_doctor_cert_remaining_seconds",
        "Time until the soonest end of a server certificate seen, in whole days (days x 86400).",
    )?;
    for r in reports {
        if let Some(d) = r.metrics.cert_days_left {
            writeln!(
                out,
                "mailbox_doctor_cert_remaining_seconds{{mailbox=\"{}\"}} {}",
                esc(&r.target.user),
                d * DAY
            )?;
        }
    }
    family(
        out,
        "mailbox_doctor_deadline_remaining_seconds",
        "Time until the next dated deadline that applies (e.g. SMTP AUTH basic authentication off by default), in whole days (days x 86400).",
    )?;
    for r in reports {
        if let (Some(d), Some(date)) = (r.metrics.deadline_days_left, &r.metrics.deadline) {
            writeln!(
                out,
                "mailbox_doctor_deadline_remaining_seconds{{mailbox=\"{}\",deadline=\"{date}\"}} {}",
                esc(&r.target.user),
                d * DAY
            )?;
        }
    }
    family(
        out,
        "mailbox_doctor_diagnosis",
        "1 for each diagnosis code present, root cause first (rank 0).",
    )?;
    for r in reports {
        for (rank, d) in r.diagnosis.iter().enumerate() {
            writeln!(
                out,
                "mailbox_doctor_diagnosis{{mailbox=\"{}\",code=\"{}\",severity=\"{}\",rank=\"{rank}\"}} 1",
                esc(&r.target.user),
                d.code,
                serde_json::to_value(d.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}
