//! mailbox-doctor: tells, in one run, why a mail login fails and what to do about it.
//!
//! `main_with_args` is the whole program: parse, run the command, render, and map
//! the outcome to a monitoring-plugins exit code in exactly one place (`exit_code`).

pub mod checks;
pub mod cli;
pub mod diagnose;
pub mod explain;
pub mod knowledge;
pub mod net;
pub mod report;
pub mod runner;
pub mod secret;
pub mod target;
pub mod transcript;

use crate::checks::{CheckId, Ctx, NetOptions};
use crate::cli::{CheckArgs, Cli, ColorChoice, Command, ExplainArgs, Format, ListArgs, OutputArgs};
use crate::knowledge::Knowledge;
use crate::report::model::{CheckReport, OverallStatus, Report, Tool, SCHEMA_VERSION};
use crate::secret::Secret;
use anyhow::Context as _;
use clap::Parser;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The version line, with the date of the knowledge base.
pub fn version_line() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (knowledge as of ",
        include_str!("../checks/AS_OF"),
        ")"
    )
}

pub fn tool() -> Tool {
    Tool {
        name: "mailbox-doctor",
        version: env!("CARGO_PKG_VERSION"),
        knowledge_as_of: include_str!("../checks/AS_OF").trim().to_string(),
    }
}

/// What a command produced: the rendered bytes and the status behind the exit code.
pub struct Outcome {
    pub output: Vec<u8>,
    pub status: OverallStatus,
}

/// The one place where outcomes become exit codes (monitoring-plugins convention).
pub fn exit_code(outcome: &Result<Outcome, anyhow::Error>) -> u8 {
    match outcome {
        Ok(o) => o.status.exit_code(),
        Err(_) => OverallStatus::Unknown.exit_code(),
    }
}

/// A panic hook that prints no payload (a payload could hold anything, secrets
/// included): only where it happened.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        #[allow(clippy::disallowed_macros)] // the one place a panic is reported
        {
            eprintln!("mailbox-doctor: internal error at {place}; please report it (UNKNOWN)");
        }
    }));
}

pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => OverallStatus::Unknown.exit_code(),
            };
            let _ = e.print();
            return code;
        }
    };
    let outcome = run(cli);
    match &outcome {
        Ok(o) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&o.output);
            let _ = out.flush();
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "mailbox-doctor: error: {e:#}");
        }
    }
    exit_code(&outcome)
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let kb = knowledge::get()?;
    match cli.command {
        Command::Check(args) => run_check(kb, *args),
        Command::Explain(args) => run_explain(kb, args),
        Command::List(args) => run_list(kb, args),
    }
}

/// Whether text output is colored: `--color`, then NO_COLOR, then "is stdout a terminal".
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn style(output: &OutputArgs) -> report::text::Style {
    let color = use_color(output.color);
    colored::control::set_override(color);
    report::text::Style { color }
}

fn render_report(report: &Report, output: &OutputArgs) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    match output.format() {
        Format::Text => report::text::render(report, &mut buf, &style(output))?,
        Format::Json => report::json::render(report, &mut buf)?,
        Format::Nagios => report::nagios::render(report, &mut buf)?,
    }
    Ok(buf)
}

const PASSWORD_ENV: &str = "MAILBOX_DOCTOR_PASSWORD";

/// Gets the password: --password-stdin, then the environment, then a prompt without
/// echo when stdin is a terminal. Never from argv.
fn read_password(args: &CheckArgs) -> anyhow::Result<Option<Secret>> {
    if args.no_password {
        return Ok(None);
    }
    if args.password_stdin {
        let mut stdin = std::io::stdin().lock();
        let s = secret::read_secret_line(&mut stdin)
            .context("reading the password from standard input")?;
        return Ok(Some(s));
    }
    if let Some(v) = std::env::var_os(PASSWORD_ENV) {
        let s = v
            .into_string()
            .map_err(|_| anyhow::anyhow!("{PASSWORD_ENV} is not valid UTF-8"))?;
        return Ok(Some(Secret::new(s)));
    }
    if std::io::stdin().is_terminal() {
        let prompt = format!("Password for {} (not shown): ", args.email);
        let p =
            rpassword::prompt_password(prompt).context("reading the password from the terminal")?;
        return Ok(Some(Secret::new(p)));
    }
    anyhow::bail!(
        "no password: use --password-stdin, set {PASSWORD_ENV}, run in a terminal to be asked, or pass --no-password to test without logging in"
    )
}

fn load_roots(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let pem =
        std::fs::read(path).with_context(|| format!("reading --ca-file {}", path.display()))?;
    let mut rd = std::io::BufReader::new(&pem[..]);
    let certs: Vec<Vec<u8>> = rustls_pemfile::certs(&mut rd)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("--ca-file {} is not valid PEM", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("--ca-file {} holds no certificate", path.display());
    }
    Ok(certs)
}

fn run_check(kb: &'static Knowledge, args: CheckArgs) -> anyhow::Result<Outcome> {
    let overrides = target::Overrides {
        smtp: args.smtp.clone(),
        imap: args.imap.clone(),
        pop: args.pop.clone(),
    };
    let target = target::Target::build(kb, &args.email, &args.provider, &overrides)?;
    let extra_roots = match &args.ca_file {
        Some(p) => load_roots(p)?,
        None => Vec::new(),
    };
    let secret = read_password(&args)?;
    let today = args.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let ctx = Ctx {
        target,
        secret,
        kb,
        net: NetOptions {
            timeout: Duration::from_secs_f64(args.timeout),
            dns_server: args.dns_server,
            extra_roots,
            allow_plaintext: args.allow_plaintext,
        },
        today,
        transcript: transcript::Transcript::new(),
        shared: Default::default(),
    };
    let selected = runner::select(&args.only, &args.skip);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let start = Instant::now();
    let ran = rt.block_on(runner::run(&ctx, &selected));
    let report = build_report(&ctx, ran, start.elapsed(), args.transcript);
    let output = render_report(&report, &args.output)?;
    Ok(Outcome {
        output,
        status: report.status,
    })
}

/// Assembles the report from what the runner returned.
pub fn build_report(
    ctx: &Ctx,
    ran: Vec<runner::Ran>,
    took: Duration,
    with_transcript: bool,
) -> Report {
    let findings: Vec<(CheckId, &checks::Finding)> = ran
        .iter()
        .flat_map(|r| r.result.findings.iter().map(move |f| (r.id, f)))
        .collect();
    let diagnosis = diagnose::diagnose(
        ctx.kb,
        &findings,
        &ctx.target.user,
        ctx.target.domain.as_deref(),
    );
    let statuses: Vec<_> = ran.iter().map(|r| r.result.status).collect();
    let status = diagnose::overall(&diagnosis, &statuses);
    let checks = ran
        .iter()
        .map(|r| CheckReport {
            id: r.id,
            status: r.result.status,
            summary: r.result.summary.clone(),
            duration_ms: r.duration.as_millis() as u64,
            findings: r.result.findings.clone(),
            details: r.result.details.clone(),
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        target: ctx.target.clone(),
        status,
        duration_ms: took.as_millis() as u64,
        checks,
        diagnosis,
        transcript: with_transcript.then(|| ctx.transcript.lines()),
    }
}

fn run_explain(kb: &'static Knowledge, args: ExplainArgs) -> anyhow::Result<Outcome> {
    let text = match args.text {
        Some(t) => t,
        None => {
            let mut s = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(std::io::stdin(), 1 << 20),
                &mut s,
            )
            .context("reading the text to explain from standard input")?;
            s
        }
    };
    let explanation = explain_text(kb, &text);
    let mut buf = Vec::new();
    match args.output.format() {
        Format::Text => {
            report::text::render_explanation(&explanation, &mut buf, &style(&args.output))?
        }
        Format::Json => report::json::render_explanation(&explanation, &mut buf)?,
        Format::Nagios => report::nagios::render_explanation(&explanation, &mut buf)?,
    }
    Ok(Outcome {
        output: buf,
        status: explanation.status,
    })
}

/// Explains a pasted text: every matching signature becomes a finding, then the
/// same diagnosis ordering as a live check.
pub fn explain_text(kb: &Knowledge, text: &str) -> report::model::Explanation {
    let matches = explain::match_reply(kb, None, text, None);
    let findings: Vec<checks::Finding> = matches
        .iter()
        .filter_map(|m| {
            let def = kb.diagnosis(&m.signature.def.diagnosis)?;
            Some(
                checks::Finding::new(&def.code, def.severity, def.title.clone())
                    .with_evidence(m.signature.def.id.clone()),
            )
        })
        .collect();
    let pairs: Vec<(CheckId, &checks::Finding)> = matches
        .iter()
        .zip(&findings)
        .map(|(m, f)| (m.signature.def.protocol.check_id(), f))
        .collect();
    let diagnosis = diagnose::diagnose(kb, &pairs, "<user>", None);
    let status = if diagnosis.is_empty() {
        OverallStatus::Unknown
    } else {
        diagnose::overall(&diagnosis, &[])
    };
    report::model::Explanation {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        status,
        reply: explain::extract_reply(text),
        matched: matches.iter().map(|m| m.signature.def.id.clone()).collect(),
        diagnosis,
    }
}

fn run_list(kb: &'static Knowledge, args: ListArgs) -> anyhow::Result<Outcome> {
    let mut buf = Vec::new();
    match args.output.format() {
        Format::Json => report::json::render_list(kb, &mut buf)?,
        _ => report::text::render_list(kb, &mut buf, &style(&args.output))?,
    }
    Ok(Outcome {
        output: buf,
        status: OverallStatus::Ok,
    })
}
