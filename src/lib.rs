//! mailbox-doctor: tells, in one run, why a mail login fails and what to do about it.
//!
//! `main_with_args` is the whole program: parse, run the command, render, and map
//! the outcome to a monitoring-plugins exit code in exactly one place (`exit_code`).

pub mod batch;
pub mod checks;
pub mod cli;
pub mod demo;
pub mod diagnose;
pub mod explain;
pub mod knowledge;
pub mod net;
pub mod oauth;
pub mod progress;
pub mod report;
pub mod runner;
pub mod secret;
pub mod sim;
pub mod target;
pub mod transcript;
pub mod vocab;

use crate::checks::NetOptions;
use crate::cli::{CheckArgs, Cli, ColorChoice, Command, ExplainArgs, Format, ListArgs, OutputArgs};
use crate::knowledge::Knowledge;
use crate::report::model::{Report, Tool};
use crate::secret::Secret;
use crate::vocab::{CheckId, OverallStatus};
use anyhow::Context as _;
use clap::Parser;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::time::Duration;

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

/// Runs `f`; a panic inside it (a bug) becomes an error, so the run still ends
/// as UNKNOWN (exit 3) for monitoring rather than with the runtime's 101. The
/// panic hook has already said where it happened.
pub fn guarded(f: impl FnOnce() -> anyhow::Result<Outcome>) -> anyhow::Result<Outcome> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error; nothing was retried")))
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
    let outcome = guarded(|| run(cli));
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
        Command::Batch(args) => batch::run(kb, *args),
        Command::Demo(args) => run_demo(kb, args),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "mailbox-doctor", &mut buf);
            Ok(Outcome {
                output: buf,
                status: OverallStatus::Ok,
            })
        }
        Command::Manpage => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut buf)?;
            Ok(Outcome {
                output: buf,
                status: OverallStatus::Ok,
            })
        }
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

pub fn style(output: &OutputArgs) -> report::text::Style {
    let color = use_color(output.color);
    colored::control::set_override(color);
    report::text::Style { color }
}

pub fn render_report(report: &Report, output: &OutputArgs) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    match output.format() {
        Format::Text => report::text::render(report, &mut buf, &style(output))?,
        Format::Json => report::json::render(report, &mut buf)?,
        Format::Nagios => report::nagios::render(report, &mut buf)?,
        Format::Prometheus => report::prometheus::render(report, &mut buf)?,
    }
    Ok(buf)
}

const PASSWORD_ENV: &str = "MAILBOX_DOCTOR_PASSWORD";
const TOKEN_ENV: &str = "MAILBOX_DOCTOR_TOKEN";

/// Gets an OAuth access token when one is asked for: --oauth-token-stdin, or the
/// environment when no password source was named.
fn read_token(args: &CheckArgs) -> anyhow::Result<Option<Secret>> {
    if args.oauth_token_stdin {
        let mut stdin = std::io::stdin().lock();
        let s = secret::read_secret_line(&mut stdin)
            .context("reading the access token from standard input")?;
        let trimmed = s.expose().trim();
        if trimmed.is_empty() {
            anyhow::bail!("the access token read from standard input is empty");
        }
        return Ok(Some(Secret::new(trimmed.to_string())));
    }
    if args.password_stdin || args.no_password {
        return Ok(None);
    }
    match std::env::var_os(TOKEN_ENV) {
        Some(v) => {
            let s = v
                .into_string()
                .map_err(|_| anyhow::anyhow!("{TOKEN_ENV} is not valid UTF-8"))?;
            Ok(Some(Secret::new(s.trim().to_string())))
        }
        None => Ok(None),
    }
}

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

/// Network options from the shared flags (reads `--ca-file`).
pub fn net_options(args: &cli::NetArgs) -> anyhow::Result<NetOptions> {
    let extra_roots = match &args.ca_file {
        Some(p) => load_roots(p)?,
        None => Vec::new(),
    };
    Ok(NetOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        dns_server: args.dns_server,
        extra_roots,
        allow_plaintext: args.allow_plaintext,
        identity_url: args.identity_url.trim_end_matches('/').to_string(),
        warning_days: i64::from(args.warning_days),
        critical_days: i64::from(args.critical_days),
    })
}

fn run_check(kb: &'static Knowledge, args: CheckArgs) -> anyhow::Result<Outcome> {
    let overrides = target::Overrides {
        smtp: args.smtp.clone(),
        imap: args.imap.clone(),
        pop: args.pop.clone(),
    };
    let mut target = target::Target::build(kb, &args.email, &args.provider, &overrides)?;
    let net = net_options(&args.net)?;
    // An unknown domain with no servers given: let its MX pick the provider.
    let no_overrides = args.smtp.is_none() && args.imap.is_none() && args.pop.is_none();
    if target.provider_source == "default" && no_overrides {
        if let Some(domain) = target.domain.clone() {
            let found = runtime()?.block_on(async {
                let r = net::resolver::Resolver::new(net.dns_server, net.timeout).ok()?;
                target::provider_by_mx(kb, &r, &domain).await
            });
            if let Some(id) = found {
                target = target::Target::build(kb, &args.email, &id, &overrides)?;
                target.provider_source = "mx";
            }
        }
    }
    let token = read_token(&args)?;
    let secret = if token.is_some() {
        None
    } else {
        read_password(&args)?
    };
    let spec = runner::Spec {
        target,
        secret,
        token,
        net,
        today: args.now.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        selected: runner::select(&args.net.only, &args.net.skip),
        transcript: args.net.transcript,
        observer: None,
        common: Default::default(),
    };
    // Spinners only for text output on a terminal; never in machine formats.
    let progress = (args.output.format() == Format::Text)
        .then(|| {
            let ids: Vec<CheckId> = checks::CHECKS
                .iter()
                .map(|c| c.id())
                .filter(|id| spec.selected.contains(id))
                .collect();
            progress::Progress::start(&ids)
        })
        .flatten()
        .map(std::sync::Arc::new);
    let mut spec = spec;
    if let Some(p) = &progress {
        let p = p.clone();
        spec.observer = Some(std::sync::Arc::new(move |id, r| p.done(id, r)));
    }
    let report = runtime()?.block_on(runner::check_mailbox(kb, spec));
    if let Some(p) = progress.and_then(|p| std::sync::Arc::try_unwrap(p).ok()) {
        p.clear();
    }
    let output = render_report(&report, &args.output)?;
    Ok(Outcome {
        output,
        status: report.status,
    })
}

/// The async runtime for one command: two workers (the network work is I/O bound).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
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
        Format::Nagios | Format::Prometheus => {
            report::nagios::render_explanation(&explanation, &mut buf)?
        }
    }
    Ok(Outcome {
        output: buf,
        status: explanation.status,
    })
}

/// Explains a pasted text (see `explain::explain`).
pub fn explain_text(kb: &Knowledge, text: &str) -> report::model::Explanation {
    explain::explain(kb, text)
}

fn run_demo(kb: &'static Knowledge, args: cli::DemoArgs) -> anyhow::Result<Outcome> {
    if args.list {
        let mut buf = Vec::new();
        for s in demo::SCENARIOS {
            let mark = if s.name == demo::DEFAULT {
                " (default)"
            } else {
                ""
            };
            writeln!(buf, "{:<22} {}{mark}", s.name, s.title)?;
        }
        return Ok(Outcome {
            output: buf,
            status: OverallStatus::Ok,
        });
    }
    let name = args.scenario.as_deref().unwrap_or(demo::DEFAULT);
    let sc = demo::find(name).ok_or_else(|| {
        anyhow::anyhow!("no demo scenario `{name}`; `mailbox-doctor demo --list` names them")
    })?;
    let today = args.now.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = runtime()?
        .block_on(demo::run(kb, sc, args.transcript, today))
        .map_err(|e| anyhow::anyhow!("the simulation could not start: {e}"))?;
    let output = render_report(&report, &args.output)?;
    Ok(Outcome {
        output,
        status: report.status,
    })
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
