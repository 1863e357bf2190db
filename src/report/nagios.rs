//! Nagios / monitoring-plugins renderer: `MAILBOX-DOCTOR STATUS - summary | perfdata`
//! on the first line, then one line per check and the fix.

use crate::report::model::{Explanation, Report};
use std::io::{self, Write};

/// Perfdata labels may not hold `'` or `=`; keep them plain.
fn label(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let summary = match report.diagnosis.first() {
        Some(d) => format!("{}: {}", d.code, one_line(&d.summary)),
        None => {
            let passed = report
                .checks
                .iter()
                .filter(|c| c.status == crate::vocab::Status::Pass)
                .count();
            format!(
                "{} of {} checks passed for {}",
                passed,
                report.checks.len(),
                report.target.user
            )
        }
    };
    let mut perf: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != crate::vocab::Status::Skip)
        .map(|c| {
            format!(
                "'{}_time'={:.3}s;;;0",
                label(c.id.as_str()),
                c.duration_ms as f64 / 1000.0
            )
        })
        .collect();
    let m = &report.metrics;
    if let Some(d) = m.cert_days_left {
        // `W:` is the plugin range for "alert when below W".
        perf.push(format!(
            "'cert_days'={d};{}:;{}:",
            m.warning_days, m.critical_days
        ));
    }
    if let Some(d) = m.deadline_days_left {
        perf.push(format!(
            "'deadline_days'={d};{}:;{}:",
            m.warning_days, m.critical_days
        ));
    }
    perf.push(format!(
        "'total_time'={:.3}s;;;0",
        report.duration_ms as f64 / 1000.0
    ));
    writeln!(
        out,
        "MAILBOX-DOCTOR {} - {} | {}",
        report.status.upper(),
        summary,
        perf.join(" ")
    )?;
    for c in &report.checks {
        writeln!(
            out,
            "[{}] {}: {}",
            format!("{:?}", c.status).to_uppercase(),
            c.id.as_str(),
            one_line(&c.summary)
        )?;
    }
    if let Some(d) = report.diagnosis.first() {
        if !d.fix.is_empty() {
            writeln!(out, "Fix: {}", one_line(&d.fix))?;
        }
    }
    Ok(())
}

pub fn render_explanation(e: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    let summary = match e.diagnosis.first() {
        Some(d) => format!("{}: {}", d.code, one_line(&d.summary)),
        None => "not recognised".to_string(),
    };
    writeln!(out, "MAILBOX-DOCTOR {} - {}", e.status.upper(), summary)?;
    for d in e.diagnosis.iter().skip(1) {
        writeln!(out, "{}: {}", d.code, one_line(&d.summary))?;
    }
    Ok(())
}
