//! The text report: the five sections in order, each item with what to do.
//! Long sections show their first items and say how many more the JSON and CSV
//! formats list.

use super::thousands;
use crate::signins::model::{ItemStatus, SigninReport};
use crate::vocab::OverallStatus;
use chrono::{DateTime, Utc};
use colored::Colorize as _;
use std::io::Write;

/// Items shown per section.
pub const SHOWN: usize = 25;

pub struct Style {
    pub color: bool,
}

fn t(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M").to_string()
}

fn label(s: ItemStatus, style: &Style) -> String {
    let (word, paint): (&str, fn(&str) -> colored::ColoredString) = match s {
        ItemStatus::Critical => ("CRITICAL", |w| w.red().bold()),
        ItemStatus::Warning => ("WARNING", |w| w.yellow().bold()),
        ItemStatus::Ok => ("OK", |w| w.green()),
    };
    let padded = format!("{word:<8}");
    if style.color {
        paint(&padded).to_string()
    } else {
        padded
    }
}

fn plural(n: u64, word: &str) -> String {
    format!("{} {word}{}", thousands(n), if n == 1 { "" } else { "s" })
}

fn more(out: &mut dyn Write, total: usize) -> std::io::Result<()> {
    if total > SHOWN {
        writeln!(
            out,
            "  ... and {} more (--format json or csv lists them all)",
            thousands((total - SHOWN) as u64)
        )?;
    }
    Ok(())
}

fn list(items: &[String], omitted: u64, none: &str) -> String {
    if items.is_empty() {
        return none.to_string();
    }
    let mut s = items.join(", ");
    if omitted > 0 {
        s.push_str(&format!(" (+{} sign-ins from others)", thousands(omitted)));
    }
    s
}

pub fn render(r: &SigninReport, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
    header(r, out)?;
    legacy(r, out, style)?;
    failures(r, out)?;
    lockout(r, out)?;
    places(r, out)?;
    not_covered(r, out)?;
    footer(r, out, style)
}

fn header(r: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "mailbox-doctor signins: {} sign-ins read from {} input{}",
        thousands(r.rows_read),
        r.inputs.len(),
        if r.inputs.len() == 1 { "" } else { "s" }
    )?;
    for i in &r.inputs {
        let pages = match i.pages {
            Some(p) if p > 0 => format!(", {p} Graph pages"),
            _ => String::new(),
        };
        let format = serde_json::to_value(i.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} ({format}): {} rows{pages}{}",
            i.name,
            thousands(i.rows),
            if i.malformed > 0 {
                format!(", {} malformed", thousands(i.malformed))
            } else {
                String::new()
            }
        )?;
    }
    writeln!(
        out,
        "  analysed: {} sign-ins since {} ({} legacy); {} earlier ones left out; {} malformed",
        thousands(r.rows_analyzed),
        t(&r.since),
        thousands(r.legacy_rows),
        thousands(r.rows_outside_window),
        thousands(r.rows_malformed)
    )?;
    if r.redacted {
        writeln!(
            out,
            "  user names and IP addresses are pseudonyms (--redact)"
        )?;
    }
    Ok(())
}

fn legacy(r: &SigninReport, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
    writeln!(
        out,
        "\n1. Legacy sign-ins (a password with every request), what breaks first: {}",
        thousands(r.legacy.len() as u64)
    )?;
    if r.legacy.is_empty() {
        writeln!(out, "  none")?;
    }
    for l in r.legacy.iter().take(SHOWN) {
        writeln!(
            out,
            "{} {}, {}: {} succeeded, {} failed",
            label(l.status, style),
            l.user,
            l.client_app,
            thousands(l.successes),
            thousands(l.failures)
        )?;
        let last_ok = l
            .last_success
            .map(|s| format!(", last success {}", t(&s)))
            .unwrap_or_default();
        writeln!(
            out,
            "         seen {} .. {}{last_ok}",
            t(&l.first_seen),
            t(&l.last_seen)
        )?;
        writeln!(
            out,
            "         from {}; user agents: {}",
            list(&l.ips, l.ips_omitted, "no address"),
            list(&l.user_agents, l.user_agents_omitted, "none")
        )?;
        writeln!(out, "         {}", l.verdict.summary)?;
        if let Some(fix) = &l.verdict.fix {
            writeln!(out, "         Fix: {fix}")?;
        }
    }
    more(out, r.legacy.len())?;
    if r.omitted.legacy_rows > 0 {
        writeln!(
            out,
            "  {} legacy sign-ins of further users are counted but not itemized (too many distinct users)",
            thousands(r.omitted.legacy_rows)
        )?;
    }
    Ok(())
}

fn failures(r: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "\n2. Failures explained: {} error codes",
        r.failures.len()
    )?;
    if r.failures.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in r.failures.iter().take(SHOWN) {
        writeln!(
            out,
            "  {} {}: {}",
            f.error_code,
            f.diagnosis.as_deref().unwrap_or("(unknown code)"),
            f.title
        )?;
        let users = list(&f.users, 0, "none");
        let others = if f.users_omitted > 0 {
            format!(" and others ({} failures)", thousands(f.users_omitted))
        } else {
            String::new()
        };
        writeln!(
            out,
            "         {} ({} from legacy clients), {} .. {}; users: {users}{others}",
            plural(f.count, "failure"),
            thousands(f.legacy_count),
            t(&f.first_seen),
            t(&f.last_seen)
        )?;
        if let Some(text) = &f.microsoft_text {
            writeln!(out, "         Microsoft: \"{text}\"")?;
        } else if !f.failure_reason.is_empty() {
            writeln!(out, "         The log says: \"{}\"", f.failure_reason)?;
        }
        if let Some(fix) = &f.fix {
            writeln!(out, "         Fix: {fix}")?;
        }
    }
    more(out, r.failures.len())
}

fn lockout(r: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "\n3. Lockout risk, devices that fail with a wrong password again and again: {}",
        thousands(r.lockout_risk.len() as u64)
    )?;
    if r.lockout_risk.is_empty() {
        writeln!(out, "  none")?;
        return Ok(());
    }
    for k in r.lockout_risk.iter().take(SHOWN) {
        let agent = if k.user_agent.is_empty() {
            "no user agent".to_string()
        } else {
            format!("user agent {}", k.user_agent)
        };
        writeln!(
            out,
            "  {} from {}, {}, {agent}",
            k.user,
            if k.ip.is_empty() { "no address" } else { &k.ip },
            k.client_app
        )?;
        writeln!(out, "         {}", k.summary)?;
    }
    more(out, r.lockout_risk.len())?;
    writeln!(
        out,
        "  Entra smart lockout (Microsoft): \"{}\"",
        r.lockout.statement
    )?;
    writeln!(out, "  Also: \"{}\"", r.lockout.same_password)?;
    writeln!(
        out,
        "  Fix: stop the device (or give it the right password) before it locks the account; a 50053 can also mean an IP block: check the Failure reason ({})",
        r.lockout.source
    )
}

fn places(r: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    if r.expected_countries.is_empty() {
        writeln!(
            out,
            "\n4. Unexpected places: not checked (name the expected countries with --expected-country)"
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "\n4. Unexpected places, outside {}: {}",
        r.expected_countries.join(", "),
        thousands(r.unexpected_locations.len() as u64)
    )?;
    if r.unexpected_locations.is_empty() {
        writeln!(out, "  none")?;
    }
    for p in r.unexpected_locations.iter().take(SHOWN) {
        writeln!(
            out,
            "  {} {} from {} ({}), {}: {} succeeded, {} failed, {} .. {}",
            if p.successes > 0 {
                "SUCCEEDED"
            } else {
                "failed   "
            },
            p.user,
            if p.ip.is_empty() { "no address" } else { &p.ip },
            p.country,
            p.client_app,
            thousands(p.successes),
            thousands(p.failures),
            t(&p.first_seen),
            t(&p.last_seen)
        )?;
    }
    more(out, r.unexpected_locations.len())?;
    if r.rows_without_location > 0 {
        writeln!(
            out,
            "  {} sign-ins carry no country",
            thousands(r.rows_without_location)
        )?;
    }
    Ok(())
}

fn not_covered(r: &SigninReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "\n5. Legacy sign-ins that no Conditional Access policy applied to: {} users and apps",
        thousands(r.not_covered_by_ca.len() as u64)
    )?;
    if r.not_covered_by_ca.is_empty() {
        writeln!(out, "  none")?;
        return Ok(());
    }
    for c in r.not_covered_by_ca.iter().take(SHOWN) {
        writeln!(
            out,
            "  {}, {}: {} ({} succeeded), last {}",
            c.user,
            c.client_app,
            plural(c.sign_ins, "sign-in"),
            thousands(c.successes),
            t(&c.last_seen)
        )?;
    }
    more(out, r.not_covered_by_ca.len())?;
    writeln!(
        out,
        "  Legacy protocols cannot satisfy MFA: a Conditional Access policy that blocks legacy authentication (client apps \"Exchange ActiveSync clients\" and \"Other clients\") stops these sign-ins; move the devices to OAuth 2.0 first."
    )
}

fn footer(r: &SigninReport, out: &mut dyn Write, style: &Style) -> std::io::Result<()> {
    if !r.malformed.is_empty() {
        writeln!(
            out,
            "\nMalformed rows: {} (counted, not analysed)",
            thousands(r.rows_malformed)
        )?;
        for m in r.malformed.iter().take(SHOWN) {
            writeln!(out, "  {} line {}: {}", m.input, m.line, m.reason)?;
        }
        if r.rows_malformed as usize > SHOWN {
            writeln!(
                out,
                "  ... and {} more (--format json lists the first {})",
                thousands(r.rows_malformed - SHOWN as u64),
                r.malformed.len()
            )?;
        }
    }
    for n in &r.notes {
        writeln!(out, "\nNote: {n}")?;
    }
    let word = r.status.upper();
    let word = if style.color {
        match r.status {
            OverallStatus::Critical => word.red().bold().to_string(),
            OverallStatus::Warning => word.yellow().bold().to_string(),
            OverallStatus::Ok => word.green().to_string(),
            OverallStatus::Unknown => word.to_string(),
        }
    } else {
        word.to_string()
    };
    writeln!(out, "\nStatus: {word}")
}
