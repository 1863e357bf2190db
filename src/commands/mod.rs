//! The program's edge: one thin function per command, from parsed arguments to an
//! `Outcome` (the rendered bytes and the status behind the exit code). What they
//! share lives here: the async runtime, the output style and format choice, and
//! the network options built from the flags. Commands gather and render; they do
//! not diagnose (that is the pipeline's job below them).

pub mod batch;
pub mod check;
pub mod check_signin_log;
pub mod demo;
pub mod demo_paths;
pub mod explain;
pub mod list;
pub mod paths;
pub mod serve;
pub mod signin;
pub mod signins;
pub mod signins_graph;

use crate::checks::NetOptions;
use crate::cli::{self, ColorChoice, Format, OutputArgs};
use crate::report::{self, model::Report};
use crate::vocab::OverallStatus;
use anyhow::Context as _;
use std::io::IsTerminal;
use std::time::Duration;

/// What a command produced: the rendered bytes and the status behind the exit code.
pub struct Outcome {
    pub output: Vec<u8>,
    pub status: OverallStatus,
}

impl Outcome {
    /// Output that carries no verdict (help-like commands): exit 0.
    pub fn ok(output: Vec<u8>) -> Outcome {
        Outcome {
            output,
            status: OverallStatus::Ok,
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
    set_color(color);
    report::text::Style { color }
}

/// Turns colors on or off for everything `colored` writes. On Windows, colors on
/// also switch the console to ANSI sequences (virtual terminal processing):
/// Windows Terminal has it on already, the classic console (Windows 10 and
/// later) needs it asked for.
pub fn set_color(color: bool) {
    colored::control::set_override(color);
    #[cfg(windows)]
    if color {
        let _ = colored::control::set_virtual_terminal(true);
    }
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

/// The largest `--ca-file` read (Mozilla's whole bundle is about 250 KB).
pub const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

fn load_roots(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let pem =
        crate::secret::input::read_regular_file(path, MAX_CA_FILE).context("reading --ca-file")?;
    let certs: Vec<Vec<u8>> = crate::net::pem::certificates(&pem)
        .into_iter()
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
    // A command with network options is about to connect: the trust stores
    // are read meanwhile, off the path of its first handshake.
    crate::net::trust::Trust::warm();
    Ok(NetOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        dns_server: args.dns_server,
        extra_roots,
        allow_plaintext: args.allow_plaintext,
        identity_url: args.identity_url.trim_end_matches('/').to_string(),
        warning_days: i64::from(args.warning_days),
        critical_days: i64::from(args.critical_days),
        autoconfig_port: args.autoconfig_port,
        trust_discovered: args.trust_discovered.clone(),
        confirmed: Vec::new(),
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

/// A shell completion script.
pub fn completions(shell: clap_complete::Shell) -> Outcome {
    let mut buf = Vec::new();
    let mut cmd = <cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "mailbox-doctor", &mut buf);
    Outcome::ok(buf)
}

/// The man page (roff).
pub fn manpage() -> anyhow::Result<Outcome> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(<cli::Cli as clap::CommandFactory>::command()).render(&mut buf)?;
    Ok(Outcome::ok(buf))
}
