//! The answer to `/probe`, in the Prometheus text exposition format: the report's
//! metric families exactly as `check --format prometheus` writes them, then the
//! probe's own (`probe_success`, `probe_duration_seconds`, `probe_timeout_seconds`
//! as blackbox_exporter names them), whether the answer came from the cache and
//! how old it is, and the root cause as an info metric with its code.
//!
//! It only reads a probe's result; it never probes or looks anything up.

use super::probe::Probed;
use std::io::{self, Write};
use std::time::Duration;

fn gauge(
    out: &mut dyn Write,
    name: &str,
    help: &str,
    value: impl std::fmt::Display,
) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")?;
    writeln!(out, "{name} {value}")
}

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the exposition of `p`; `cached` when the result was there before this
/// scrape came, `age` since its probe started.
pub fn render(p: &Probed, cached: bool, age: Duration, out: &mut dyn Write) -> io::Result<()> {
    crate::report::prometheus::render(&p.report, out)?;
    gauge(
        out,
        "probe_success",
        "Displays whether or not the probe was a success (1: the mailbox's status is OK or WARNING).",
        u8::from(p.success()),
    )?;
    gauge(
        out,
        "probe_duration_seconds",
        "Returns how long the probe took to complete in seconds.",
        format_args!("{:.3}", p.took.as_secs_f64()),
    )?;
    gauge(
        out,
        "probe_timeout_seconds",
        "Returns how long the probe timeout is in seconds.",
        format_args!("{:.3}", p.deadline.as_secs_f64()),
    )?;
    gauge(
        out,
        "mailbox_doctor_probe_cached",
        "1 when this is the cached result of an earlier probe: each target logs in at most once per protocol per min_interval.",
        u8::from(cached),
    )?;
    gauge(
        out,
        "mailbox_doctor_probe_age_seconds",
        "Seconds since the probe that produced this result started.",
        format_args!("{:.3}", age.as_secs_f64()),
    )?;
    writeln!(
        out,
        "# HELP mailbox_doctor_root_cause_info The root cause of this result as its diagnosis code (absent when there is none)."
    )?;
    writeln!(out, "# TYPE mailbox_doctor_root_cause_info gauge")?;
    if let Some(d) = p.report.diagnosis.first() {
        let severity = serde_json::to_value(d.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        writeln!(
            out,
            "mailbox_doctor_root_cause_info{{code=\"{}\",severity=\"{}\"}} 1",
            esc(&d.code),
            esc(&severity)
        )?;
    }
    Ok(())
}
