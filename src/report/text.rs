//! Text renderer: a line per check (status, id, duration, one-line summary), then the
//! diagnosis block, root cause first. Fits 80 columns; readable without color (the
//! status words carry the meaning, color only underlines it).

use crate::knowledge::Knowledge;
use crate::report::model::{CheckInfo, Diagnosis, Explanation, Question, Report};
use crate::vocab::{Actor, OverallStatus, Severity, Status};
use colored::Colorize;
use std::io::{self, Write};

pub const WIDTH: usize = 80;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

fn paint(s: &str, style: &Style, f: impl Fn(&str) -> colored::ColoredString) -> String {
    if style.color {
        f(s).to_string()
    } else {
        s.to_string()
    }
}

fn status_word(status: Status, style: &Style) -> String {
    let (w, f): (&str, fn(&str) -> colored::ColoredString) = match status {
        Status::Pass => ("PASS", |s| s.green().bold()),
        Status::Warn => ("WARN", |s| s.yellow().bold()),
        Status::Fail => ("FAIL", |s| s.red().bold()),
        Status::Skip => ("SKIP", |s| s.dimmed()),
        Status::Error => ("ERROR", |s| s.magenta().bold()),
    };
    paint(&format!("{w:<5}"), style, f)
}

fn overall_word(status: OverallStatus, style: &Style) -> String {
    let f: fn(&str) -> colored::ColoredString = match status {
        OverallStatus::Ok => |s| s.green().bold(),
        OverallStatus::Warning => |s| s.yellow().bold(),
        OverallStatus::Critical => |s| s.red().bold(),
        OverallStatus::Unknown => |s| s.magenta().bold(),
    };
    paint(status.upper(), style, f)
}

fn severity_word(sev: Severity, style: &Style) -> String {
    let (w, f): (&str, fn(&str) -> colored::ColoredString) = match sev {
        Severity::Critical => ("CRITICAL", |s| s.red().bold()),
        Severity::Warning => ("WARNING", |s| s.yellow().bold()),
        Severity::Info => ("INFO", |s| s.cyan()),
    };
    paint(w, style, f)
}

/// Greedy word wrap; words longer than the width (URLs, commands) stay whole.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let wlen = word.chars().count();
            let llen = line.chars().count();
            if !line.is_empty() && llen + 1 + wlen > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// Writes `label` then `text` wrapped under a hanging indent.
fn field(out: &mut dyn Write, label: &str, text: &str, style: &Style) -> io::Result<()> {
    const INDENT: usize = 14;
    let lines = wrap(text, WIDTH - INDENT);
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            let lab = format!("  {label:<width$}", width = INDENT - 2);
            writeln!(out, "{}{l}", paint(&lab, style, |s| s.bold()))?;
        } else {
            writeln!(out, "{:INDENT$}{l}", "")?;
        }
    }
    Ok(())
}

pub fn actor_words(actor: Actor) -> &'static str {
    match actor {
        Actor::User => "you (the mailbox user)",
        Actor::Admin => "your Microsoft 365 / mail administrator",
        Actor::Vendor => "the vendor of the device or application",
        Actor::Provider => "the mail provider",
    }
}

/// Who acts, for a report about `provider`: only a Microsoft 365 mailbox has a
/// Microsoft 365 administrator.
fn actor_words_for(actor: Actor, provider: Option<&str>) -> &'static str {
    match (actor, provider) {
        (Actor::Admin, Some(p)) if !p.starts_with("microsoft365") => "your mail administrator",
        _ => actor_words(actor),
    }
}

/// Where the provider came from, in words.
fn provider_line(report: &Report) -> String {
    let t = &report.target;
    let why = match t.provider_source {
        "flag" => "as --provider says",
        "domain" => "from the mail domain",
        "server" => "from the server names given",
        "mx" => "from the domain's MX",
        "greeting" => "from the server's greeting",
        _ => {
            return "Generic mail server: no known provider (not a known domain, server name or MX)"
                .to_string()
        }
    };
    format!("{}, {why}", t.provider_name)
}

/// One endpoint line: protocol, server, TLS mode and where it came from.
fn endpoint_line(e: &crate::vocab::Endpoint) -> String {
    let protocol = match e.protocol {
        crate::vocab::Protocol::Smtp => "SMTP",
        crate::vocab::Protocol::Imap => "IMAP",
        crate::vocab::Protocol::Pop => "POP3",
    };
    let mode = match e.tls {
        crate::vocab::TlsMode::Implicit => "implicit TLS",
        crate::vocab::TlsMode::Starttls => "STARTTLS",
        crate::vocab::TlsMode::None => "no TLS",
    };
    let source = match e.source {
        "flag" => "given",
        "profile" => "provider profile",
        "srv" => "DNS SRV",
        "autoconfig" => "autoconfig",
        "mx" => "MX host, guessed",
        other => other,
    };
    format!("{protocol:<5}{}:{} {mode} ({source})", e.host, e.port)
}

fn diagnosis_block(
    out: &mut dyn Write,
    d: &Diagnosis,
    root: bool,
    provider: Option<&str>,
    style: &Style,
) -> io::Result<()> {
    let head = if root { "Root cause" } else { "Also" };
    writeln!(
        out,
        "{} {}: {}",
        severity_word(d.severity, style),
        paint(head, style, |s| s.bold()),
        paint(&d.code, style, |s| s.bold())
    )?;
    field(out, "What", &d.summary, style)?;
    if !d.explanation.is_empty() {
        field(out, "Why", &d.explanation, style)?;
    }
    if !d.fix.is_empty() {
        field(out, "Fix", &d.fix, style)?;
    }
    field(out, "Who acts", actor_words_for(d.actor, provider), style)?;
    // Commands are never wrapped: they are copied and pasted as they are.
    for (i, c) in d.confirm.iter().enumerate() {
        let lab = format!("  {:<12}", if i == 0 { "Confirm" } else { "" });
        writeln!(out, "{}{c}", paint(&lab, style, |s| s.bold()))?;
    }
    for (i, e) in d.evidence.iter().enumerate() {
        field(out, if i == 0 { "Evidence" } else { "" }, e, style)?;
    }
    if let Some(docs) = &d.docs {
        field(out, "Docs", docs, style)?;
    }
    writeln!(out)
}

/// Two readings remain: both named, and the question whose answer decides.
fn question_block(out: &mut dyn Write, q: Option<&Question>, style: &Style) -> io::Result<()> {
    let Some(q) = q else {
        return Ok(());
    };
    writeln!(
        out,
        "{} {} or {}",
        paint("Two readings:", style, |s| s.bold()),
        q.between[0],
        q.between[1]
    )?;
    field(out, "Ask", &q.ask, style)?;
    for (i, a) in q.answers.iter().enumerate() {
        let line = format!("{}: {}", a.says, a.means);
        field(out, if i == 0 { "Answers" } else { "" }, &line, style)?;
    }
    writeln!(out)
}

pub fn render(report: &Report, out: &mut dyn Write, style: &Style) -> io::Result<()> {
    // The servers of the checks that ran (all of them when no protocol check did).
    let ran =
        |e: &&crate::vocab::Endpoint| report.checks.iter().any(|c| c.id == e.protocol.check_id());
    let any_ran = report.target.endpoints.iter().any(|e| ran(&e));
    writeln!(
        out,
        "{} {} for {}",
        paint("mailbox-doctor", style, |s| s.bold()),
        report.tool.version,
        report.target.user,
    )?;
    for l in wrap(&provider_line(report), WIDTH - 2) {
        writeln!(out, "  {l}")?;
    }
    for e in report
        .target
        .endpoints
        .iter()
        .filter(|e| !any_ran || ran(e))
    {
        for l in wrap(&endpoint_line(e), WIDTH - 2) {
            writeln!(out, "  {l}")?;
        }
    }
    writeln!(out)?;
    for c in &report.checks {
        let dur = if c.status == Status::Skip {
            String::new()
        } else {
            format!("{}ms", c.duration_ms)
        };
        let prefix = format!(
            "{} {:<12}{:>7}  ",
            status_word(c.status, style),
            c.id.as_str(),
            dur
        );
        let visible = 5 + 1 + 12 + 7 + 2;
        let lines = wrap(&c.summary, WIDTH - visible);
        for (i, l) in lines.iter().enumerate() {
            if i == 0 {
                writeln!(out, "{prefix}{l}")?;
            } else {
                writeln!(out, "{:visible$}{l}", "")?;
            }
        }
    }
    writeln!(out)?;
    for (i, d) in report.diagnosis.iter().enumerate() {
        diagnosis_block(out, d, i == 0, Some(&report.target.provider), style)?;
        if i == 0 {
            question_block(out, report.question.as_ref(), style)?;
        }
    }
    writeln!(
        out,
        "Status: {} ({} ms)",
        overall_word(report.status, style),
        report.duration_ms
    )?;
    if let Some(lines) = &report.transcript {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint("Transcript (secrets redacted)", style, |s| s.bold())
        )?;
        for l in lines {
            let dir = match l.dir {
                crate::net::transcript::Dir::S => "S:",
                crate::net::transcript::Dir::C => "C:",
                crate::net::transcript::Dir::Note => "**",
            };
            let prefix = format!("{:>6}ms {:<4} {dir} ", l.t_ms, l.protocol);
            let indent = prefix.chars().count();
            for (i, part) in wrap(&l.line, WIDTH - indent).iter().enumerate() {
                if i == 0 {
                    writeln!(out, "{prefix}{part}")?;
                } else {
                    writeln!(out, "{:indent$}{part}", "")?;
                }
            }
        }
    }
    Ok(())
}

pub fn render_explanation(e: &Explanation, out: &mut dyn Write, style: &Style) -> io::Result<()> {
    if let Some(r) = &e.reply {
        field(out, "Reply", r, style)?;
    }
    for (i, c) in e.context.iter().enumerate() {
        field(out, if i == 0 { "Context" } else { "" }, &c.meaning, style)?;
    }
    if e.reply.is_some() || !e.context.is_empty() {
        writeln!(out)?;
    }
    if !e.recognised {
        return not_recognised(e, out, style);
    }
    for (i, d) in e.diagnosis.iter().enumerate() {
        diagnosis_block(out, d, i == 0, None, style)?;
        if i == 0 {
            question_block(out, e.question.as_ref(), style)?;
        }
    }
    writeln!(out, "Status: {}", overall_word(e.status, style))
}

/// A text nothing in the knowledge base knows: said in words, with the question
/// to ask next, and no cause claimed.
fn not_recognised(e: &Explanation, out: &mut dyn Write, style: &Style) -> io::Result<()> {
    if let Some(d) = e.diagnosis.first() {
        writeln!(
            out,
            "{} {}: {}",
            overall_word(e.status, style),
            paint("Not recognised", style, |s| s.bold()),
            paint(&d.code, style, |s| s.bold())
        )?;
        field(out, "What", &d.summary, style)?;
        field(out, "Why", &d.explanation, style)?;
        field(out, "Ask next", &d.fix, style)?;
        for (i, ev) in d.evidence.iter().enumerate() {
            field(out, if i == 0 { "Note" } else { "" }, ev, style)?;
        }
        writeln!(out)?;
    }
    writeln!(out, "Status: {}", overall_word(e.status, style))
}

pub fn render_list(
    kb: &Knowledge,
    checks: &[CheckInfo],
    out: &mut dyn Write,
    style: &Style,
) -> io::Result<()> {
    writeln!(out, "{}", paint("Checks (in order)", style, |s| s.bold()))?;
    for c in checks {
        let needs: Vec<&str> = c.needs.iter().map(|n| n.as_str()).collect();
        let needs = if needs.is_empty() {
            String::new()
        } else {
            format!(" (needs {})", needs.join(", "))
        };
        writeln!(out, "  {:<12} {}{needs}", c.id.as_str(), c.description)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", paint("Diagnosis codes", style, |s| s.bold()))?;
    for d in &kb.diagnoses {
        let sev = match d.severity {
            Severity::Critical => "crit",
            Severity::Warning => "warn",
            Severity::Info => "info",
        };
        writeln!(out, "  {:<32} {sev}  {}", d.code, d.title)?;
    }
    Ok(())
}
