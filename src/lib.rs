//! mailbox-doctor: tells, in one run, why a mail login fails and what to do about it.
//!
//! `main_with_args` is the whole program: parse, run the command, write its
//! output, and map the outcome to a monitoring-plugins exit code in exactly one
//! place (`exit_code`). The layers, from the bottom up, are drawn in
//! ARCHITECTURE.md; every command lives in `commands`.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod diagnose;
pub mod discover;
pub mod explain;
pub mod knowledge;
pub mod net;
pub mod oauth;
pub mod progress;
pub mod report;
pub mod runner;
pub mod secret;
pub mod serve;
pub mod signins;
pub mod sim;
pub mod target;
pub mod vocab;

use crate::cli::{Cli, Command};
pub use crate::commands::Outcome;
use crate::vocab::OverallStatus;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;

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

/// clap's error for an argument it did not expect quotes the argument, and that
/// argument may be a password typed where it does not belong: this message names
/// a flag (`--name`, `--name=` without its value, `-x` without what follows) but
/// never a bare word.
fn unexpected_argument(e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let arg = match e.get(clap::error::ContextKind::InvalidArg) {
        Some(clap::error::ContextValue::String(s)) => s.as_str(),
        _ => "",
    };
    let shown = if let Some(long) = arg.strip_prefix("--").filter(|l| !l.is_empty()) {
        Some(match long.split_once('=') {
            Some((flag, _)) => format!("'--{flag}=...'"),
            None => format!("'--{long}'"),
        })
    } else if let Some(short) = arg.strip_prefix('-').and_then(|s| s.chars().next()) {
        // `-pSECRET`: only the flag letter.
        let more = if arg.chars().count() > 2 { "..." } else { "" };
        Some(format!("'-{short}{more}'"))
    } else {
        None
    };
    let shown = match shown {
        Some(s) => format!(
            "unexpected argument {}",
            crate::net::scrub::escape_controls(&s)
        ),
        None => "unexpected argument (not shown: it could be a password)".to_string(),
    };
    Some(format!(
        "error: {shown}\n\nPasswords are never read from the command line: use --password-stdin, {} or the prompt.\n\nFor more information, try '--help'.",
        crate::secret::input::PASSWORD_ENV
    ))
}

pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => OverallStatus::Unknown.exit_code(),
            };
            match unexpected_argument(&e) {
                Some(msg) => {
                    let _ = writeln!(std::io::stderr(), "{msg}");
                }
                None => {
                    let _ = e.print();
                }
            }
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
            // An error may quote a file's name or contents: shown escaped.
            let text = format!("{e:#}");
            let _ = writeln!(
                std::io::stderr(),
                "mailbox-doctor: error: {}",
                net::scrub::escape_controls(&text)
            );
        }
    }
    exit_code(&outcome)
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let kb = knowledge::get()?;
    match cli.command {
        Command::Check(args) => commands::check::run(kb, *args),
        Command::Explain(args) => commands::explain::run(kb, args),
        Command::List(args) => commands::list::run(kb, args),
        Command::Signins(args) => commands::signins::run(kb, *args),
        Command::Batch(args) => commands::batch::run(kb, *args),
        Command::Demo(args) => commands::demo::command(kb, args),
        Command::Serve(args) => commands::serve::run(kb, *args),
        Command::Paths(args) => commands::paths::run(kb, *args),
        Command::Completions { shell } => Ok(commands::completions(shell)),
        Command::Manpage => commands::manpage(),
    }
}
