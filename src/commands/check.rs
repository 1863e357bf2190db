//! `check`: one mailbox, every selected check, one report. The secret comes from
//! a prompt, standard input or the environment (never argv), in that order of
//! preference; see `secret::input`.

use super::Outcome;
use crate::checks;
use crate::cli::{CheckArgs, Format};
use crate::knowledge::Knowledge;
use crate::secret::input::{self, PASSWORD_ENV, TOKEN_ENV};
use crate::secret::Secret;
use crate::vocab::CheckId;
use crate::{net, progress, runner, target};

/// Gets an OAuth access token when one is asked for: --oauth-token-stdin, or the
/// environment when no password source was named.
fn read_token(args: &CheckArgs) -> anyhow::Result<Option<Secret>> {
    if args.oauth_token_stdin {
        let s = input::from_stdin("the access token")?;
        return Ok(Some(trimmed_token(&s, "standard input")?));
    }
    if args.password_stdin || args.no_password {
        return Ok(None);
    }
    match input::from_env(TOKEN_ENV)? {
        Some(s) => Ok(Some(trimmed_token(&s, TOKEN_ENV)?)),
        None => Ok(None),
    }
}

/// A token without the spaces around it; nothing but spaces is no token.
fn trimmed_token(s: &Secret, from: &str) -> anyhow::Result<Secret> {
    let trimmed = s.expose().trim();
    if trimmed.is_empty() {
        anyhow::bail!("the access token from {from} is empty; nothing was sent");
    }
    Ok(Secret::new(trimmed.to_string()))
}

/// Gets the password: --password-stdin, then the environment, then a prompt without
/// echo when stdin is a terminal. Never from argv.
fn read_password(args: &CheckArgs) -> anyhow::Result<Option<Secret>> {
    if args.no_password {
        return Ok(None);
    }
    if args.password_stdin {
        return Ok(Some(input::from_stdin("the password")?));
    }
    if let Some(s) = input::from_env(PASSWORD_ENV)? {
        return Ok(Some(s));
    }
    if let Some(s) = input::prompt(&format!("Password for {} (not shown): ", args.email))? {
        return Ok(Some(s));
    }
    anyhow::bail!(
        "no password: use --password-stdin, set {PASSWORD_ENV}, run in a terminal to be asked, or pass --no-password to test without logging in"
    )
}

/// The question about a discovered host the trust rule does not take: asked
/// only for text output, with standard input and standard error both
/// terminals (never in JSON, Nagios or Prometheus output, nor from a pipe).
fn confirm_hook(
    args: &CheckArgs,
    progress: Option<std::sync::Arc<progress::Progress>>,
) -> Option<runner::Confirm> {
    use std::io::IsTerminal as _;
    let interactive = args.output.format() == Format::Text
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal();
    if !interactive {
        return None;
    }
    Some(std::sync::Arc::new(move |host: &str, evidence: &str| {
        let ask = || ask_trust(host, evidence);
        match &progress {
            Some(p) => p.suspend(ask),
            None => ask(),
        }
    }))
}

/// Shows the evidence, wrapped to the terminal's 80 columns, and reads a yes
/// (anything else, or nothing, is a no).
fn ask_trust(host: &str, evidence: &str) -> bool {
    use std::io::{BufRead as _, Read as _, Write as _};
    let evidence = net::scrub::escape_controls(evidence);
    let host = net::scrub::escape_controls(host);
    let mut chars = evidence.chars();
    let text = match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    };
    let mut err = std::io::stderr().lock();
    for line in wrap(&text, 78) {
        let _ = writeln!(err, "{line}");
    }
    let _ = write!(err, "Trust {host} with your credentials? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin()
        .lock()
        .take(64)
        .read_line(&mut answer)
        .is_err()
    {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Words to lines of at most `width` columns (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

pub fn run(kb: &'static Knowledge, args: CheckArgs) -> anyhow::Result<Outcome> {
    let overrides = target::Overrides {
        smtp: args.smtp.clone(),
        imap: args.imap.clone(),
        pop: args.pop.clone(),
    };
    // The provider from the flag, the domain or the server names; the MX and the
    // domain's published servers are asked inside the run, on its resolver.
    let target = target::Target::build(kb, &args.email, &args.provider, &overrides)?;
    let net = super::net_options(&args.net)?;
    let signin = super::signin::plan(&args.sign_in, super::signin::stderr_notify())?;
    if let Some(p) = &signin {
        super::signin::for_provider(p, &target.provider)?;
    }
    let token = if signin.is_some() {
        None
    } else {
        read_token(&args)?
    };
    let graph_token = super::check_signin_log::read_token(&args)?;
    let secret = if token.is_some() || signin.is_some() {
        None
    } else {
        read_password(&args)?
    };
    // The run's scrubber knows the credential in every form a server could echo.
    let creds: Vec<net::scrub::Credential> =
        [(&secret, false), (&token, true), (&graph_token, true)]
            .into_iter()
            .filter_map(|(s, token)| {
                s.as_ref().map(|secret| net::scrub::Credential {
                    user: &target.user,
                    secret,
                    token,
                })
            })
            .collect();
    let common = std::sync::Arc::new(crate::checks::ctx::Common::new(net::scrub::Scrubber::new(
        &creds,
    )));
    drop(creds);
    let scrub = common.scrubber();
    let (timeout, extra_roots, dns_server) = (net.timeout, net.extra_roots.clone(), net.dns_server);
    let spec = runner::Spec {
        target,
        secret,
        token,
        net,
        today: args.now.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        selected: runner::select(&args.net.only, &args.net.skip),
        transcript: args.net.transcript,
        observer: None,
        confirm: None,
        common,
        signin: signin.map(std::sync::Arc::new),
    };
    // Spinners only for text output on a terminal; never in machine formats.
    // Nor while a sign-in may be telling the person what to do on standard error.
    let progress = (args.output.format() == Format::Text && spec.signin.is_none())
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
    spec.confirm = confirm_hook(&args, progress.clone());
    let runtime = super::runtime()?;
    let started = chrono::Utc::now();
    let mut report = runtime.block_on(runner::check_mailbox(kb, spec));
    if let Some(token) = &graph_token {
        let run = super::check_signin_log::Run {
            kb,
            args: &args,
            token,
            scrub: &scrub,
            timeout,
            extra_roots,
            dns_server,
            started,
            ended: chrono::Utc::now(),
        };
        report = runtime.block_on(super::check_signin_log::add(&run, report));
    }
    if let Some(p) = progress.and_then(|p| std::sync::Arc::try_unwrap(p).ok()) {
        p.clear();
    }
    let output = super::render_report(&report, &args.output)?;
    Ok(Outcome {
        output,
        status: report.status,
    })
}
