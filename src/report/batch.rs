//! Renderers for a batch: the whole run as one table (text) or one Nagios
//! status with a line per mailbox that is not OK. Pure: they read the reports
//! and write, nothing else.

use crate::report::model::Report;
use crate::vocab::OverallStatus;
use std::io::Write;

fn counts(reports: &[Report]) -> [usize; 4] {
    let mut c = [0; 4];
    for r in reports {
        c[r.status.exit_code() as usize] += 1;
    }
    c
}

pub fn render_table(
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

pub fn render_nagios(
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
