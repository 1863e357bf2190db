//! The `signins` report for monitoring: Prometheus text exposition (for a
//! textfile collector or a Pushgateway) and one Nagios plugin line. Per tenant:
//! successful password (legacy authentication) sign-ins in the window by client
//! app, the distinct users behind them, and their devices (user and address
//! pairs, at most ten addresses per user and app, as the report keeps them).
//! SMTP, IMAP and POP are always written, at 0 when unused, so an alert on
//! "> 0" has a series to read. Nothing here names a user or an address.

use crate::signins::model::SigninReport;
use crate::vocab::OverallStatus;
use std::collections::BTreeMap;
use std::io::Write;

/// The client apps always written (the mail protocols of the December 2026 change).
const ALWAYS: &[&str] = &["Authenticated SMTP", "IMAP4", "POP3"];

/// Per client app: successful sign-ins, users, devices.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppCounts {
    pub successes: u64,
    pub users: u64,
    pub devices: u64,
}

/// The counts by client app, from the report's legacy inventory.
pub fn counts(r: &SigninReport) -> BTreeMap<String, AppCounts> {
    let mut out: BTreeMap<String, AppCounts> = ALWAYS
        .iter()
        .map(|a| (a.to_string(), AppCounts::default()))
        .collect();
    for l in r.legacy.iter().filter(|l| l.successes > 0) {
        let c = out.entry(l.client_app.clone()).or_default();
        c.successes += l.successes;
        c.users += 1;
        c.devices += (l.ips.len() as u64).max(1);
    }
    out
}

fn label(v: &str) -> String {
    let mut s = String::new();
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c if c.is_control() => {}
            c => s.push(c),
        }
    }
    s
}

pub fn prometheus(r: &SigninReport, tenant: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let t = label(tenant);
    let c = counts(r);
    type Series = (&'static str, &'static str, fn(&AppCounts) -> u64);
    let series: [Series; 3] = [
        (
            "mailbox_doctor_signins_legacy_successes",
            "Successful password (legacy authentication) sign-ins in the window, by client app",
            |c| c.successes,
        ),
        (
            "mailbox_doctor_signins_legacy_users",
            "Distinct users with a successful password sign-in in the window, by client app",
            |c| c.users,
        ),
        (
            "mailbox_doctor_signins_legacy_devices",
            "Distinct user and address pairs with a successful password sign-in in the window, by client app",
            |c| c.devices,
        ),
    ];
    for (name, help, get) in series {
        writeln!(out, "# HELP {name} {help}.")?;
        writeln!(out, "# TYPE {name} gauge")?;
        for (app, v) in &c {
            writeln!(
                out,
                "{name}{{tenant=\"{t}\",client_app=\"{}\"}} {}",
                label(app),
                get(v)
            )?;
        }
    }
    let window = (r.now - r.since).num_seconds().max(0);
    let scalars: [(&str, &str, i64); 5] = [
        (
            "mailbox_doctor_signins_rows_read",
            "Sign-in records read",
            r.rows_read as i64,
        ),
        (
            "mailbox_doctor_signins_window_seconds",
            "The window the counts cover",
            window,
        ),
        (
            "mailbox_doctor_signins_lockout_risk_devices",
            "Devices that keep sending a wrong password",
            r.lockout_risk.len() as i64,
        ),
        (
            "mailbox_doctor_signins_status",
            "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
            i64::from(r.status.exit_code()),
        ),
        (
            "mailbox_doctor_signins_timestamp_seconds",
            "When the sign-ins were read",
            r.now.timestamp(),
        ),
    ];
    for (name, help, v) in scalars {
        writeln!(out, "# HELP {name} {help}.")?;
        writeln!(out, "# TYPE {name} gauge")?;
        writeln!(out, "{name}{{tenant=\"{t}\"}} {v}")?;
    }
    Ok(())
}

fn perf_name(app: &str) -> String {
    app.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

pub fn nagios(r: &SigninReport, tenant: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let c = counts(r);
    let word = match r.status {
        OverallStatus::Ok => "OK",
        OverallStatus::Warning => "WARNING",
        OverallStatus::Critical => "CRITICAL",
        OverallStatus::Unknown => "UNKNOWN",
    };
    let users: u64 = c.values().map(|v| v.users).sum();
    let used: Vec<String> = c
        .iter()
        .filter(|(_, v)| v.successes > 0)
        .map(|(a, v)| format!("{a} {} by {}", v.successes, v.users))
        .collect();
    let tenant: String = tenant
        .chars()
        .filter(|c| !c.is_control() && *c != '|')
        .collect();
    let what = if used.is_empty() {
        "no successful password sign-in".to_string()
    } else {
        format!("password sign-ins: {}", used.join(", "))
    };
    let mut perf = Vec::new();
    for (app, v) in &c {
        let p = perf_name(app);
        perf.push(format!("'{p}_successes'={}", v.successes));
        perf.push(format!("'{p}_users'={}", v.users));
        perf.push(format!("'{p}_devices'={}", v.devices));
    }
    writeln!(
        out,
        "SIGNINS {word} - tenant {tenant}: {what} ({users} user-app pairs, {} rows read) | {}",
        r.rows_read,
        perf.join(" ")
    )
}
