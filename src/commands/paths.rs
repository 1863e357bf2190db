//! `paths`: the ways out for a device that cannot do OAuth, tested from this
//! network without sending a message (`runner::paths` does the probes). The HVE
//! password comes from a file only its owner can read or the environment, never
//! argv; the run's scrubber knows it in every form.

use super::Outcome;
use crate::cli::{Format, PathsArgs};
use crate::knowledge::Knowledge;
use crate::net::tls::ClientIdentity;
use crate::runner::paths::{self, PathsSpec, Ports};
use crate::secret::input;
use crate::secret::Secret;
use anyhow::Context as _;

/// The environment variable the HVE account's password may come from.
pub const HVE_PASSWORD_ENV: &str = "MAILBOX_DOCTOR_HVE_PASSWORD";

/// An address as the SMTP commands carry it: one `@`, a local part and a domain,
/// nothing that could end or split a command line.
fn address(what: &str, s: &str) -> anyhow::Result<(String, String)> {
    let bad = |why: &str| anyhow::anyhow!("{what} is not an address ({why})");
    if s.len() > 254 {
        return Err(bad("longer than 254 characters"));
    }
    if s.chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '"' | ','))
    {
        return Err(bad(
            "spaces, control characters, quotes, commas or angle brackets",
        ));
    }
    let (local, domain) = s.rsplit_once('@').ok_or_else(|| bad("no @"))?;
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        return Err(bad("expected local@domain"));
    }
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad("the domain needs a dot"));
    }
    Ok((s.to_string(), domain.to_ascii_lowercase()))
}

/// HOST[:PORT] of `--relay` (default port 587).
fn relay(s: &str) -> anyhow::Result<(String, u16)> {
    let bad = || anyhow::anyhow!("--relay {s:?} is not HOST[:PORT]");
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse::<u16>().map_err(|_| bad())?),
        _ => (s, 587),
    };
    if host.is_empty()
        || port == 0
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(bad());
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// The largest certificate or key file read.
const MAX_PEM: u64 = 256 * 1024;

/// `--client-certificate` (and `--client-key`): the chain and its key. A file
/// that holds the key must be readable by its owner only; errors never quote it.
fn client_identity(
    cert: &std::path::Path,
    key: Option<&std::path::Path>,
) -> anyhow::Result<ClientIdentity> {
    let bad = |e: String| anyhow::anyhow!("--client-certificate {}: {e}", cert.display());
    let identity = match key {
        Some(k) => {
            let chain = input::read_regular_file(cert, MAX_PEM)
                .map_err(|e| anyhow::anyhow!("--client-certificate: {e}"))?;
            // A certificate file that holds a key too is a secret file all the same.
            if memchr::memmem::find(&chain, b"PRIVATE KEY-----").is_some() {
                input::private_file("--client-certificate", cert, MAX_PEM)?;
            }
            let key_pem = input::private_file("--client-key", k, MAX_PEM)?;
            ClientIdentity::from_pem(&chain, Some(&key_pem)).map_err(bad)?
        }
        None => {
            let pem = input::private_file("--client-certificate", cert, MAX_PEM)?;
            ClientIdentity::from_pem(&pem, None).map_err(bad)?
        }
    };
    Ok(identity)
}

pub fn run(kb: &'static Knowledge, args: PathsArgs) -> anyhow::Result<Outcome> {
    if args.output.format() == Format::Prometheus {
        anyhow::bail!("paths writes text, json or nagios");
    }
    let (addr, domain) = address("the address", &args.email)?;
    let recipient = match &args.recipient {
        Some(r) => address("--recipient", r)?.0,
        None => addr.clone(),
    };
    let external_recipient = match &args.external_recipient {
        Some(r) => {
            let (r, d) = address("--external-recipient", r)?;
            if d == domain {
                anyhow::bail!("--external-recipient must be outside {domain}");
            }
            Some(r)
        }
        None => None,
    };
    let relay = args.relay.as_deref().map(relay).transpose()?;
    let client_identity = match &args.client_certificate {
        Some(c) => Some(std::sync::Arc::new(client_identity(
            c,
            args.client_key.as_deref(),
        )?)),
        None => None,
    };
    let hve = match &args.hve_account {
        Some(acct) => {
            let (acct, _) = address("--hve-account", acct)?;
            let secret: Secret = match &args.hve_password_file {
                Some(f) => input::from_file("hve_password_file", f)?,
                None => input::from_env(HVE_PASSWORD_ENV)?.with_context(|| {
                    format!("--hve-account needs --hve-password-file or {HVE_PASSWORD_ENV}")
                })?,
            };
            Some((acct, secret))
        }
        None => None,
    };
    let net = super::net_options(&crate::cli::NetArgs {
        only: Vec::new(),
        skip: Vec::new(),
        timeout: args.timeout,
        dns_server: args.dns_server,
        ca_file: args.ca_file.clone(),
        transcript: false,
        allow_plaintext: args.allow_plaintext,
        warning_days: 30,
        critical_days: 7,
        identity_url: args.identity_url.clone(),
        autoconfig_port: 443,
        trust_discovered: Vec::new(),
    })?;
    if crate::checks::tenant::parse_identity_url(net.identity_url.as_str()).is_none() {
        anyhow::bail!(
            "--identity-url {} is not an https:// URL",
            args.identity_url
        );
    }
    let sign_in = super::signin::plan(&args.sign_in.as_sign_in(), super::signin::stderr_notify())?;
    let scrub = paths::scrubber(&hve);
    let spec = PathsSpec {
        address: addr,
        domain,
        recipient,
        external_recipient,
        hve,
        relay,
        device_tls: args.device_tls.map(|d| d.number()),
        send_test_message: args.send_test_message,
        client_identity,
        sign_in,
        net,
        ports: Ports {
            mx: args.mx_port,
            submission: args.submission_port,
            hve: args.hve_port,
        },
        today: args.now.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        scrub,
    };
    let report = super::runtime()?.block_on(paths::run(kb, spec));
    render(&report, &args.output)
}

/// The report in the chosen format, and its status.
pub fn render(
    report: &crate::report::paths::PathsReport,
    output: &crate::cli::OutputArgs,
) -> anyhow::Result<Outcome> {
    use crate::report::paths as r;
    let mut buf = Vec::new();
    match output.format() {
        Format::Json => r::render_json(report, &mut buf)?,
        Format::Nagios => r::render_nagios(report, &mut buf)?,
        _ => {
            super::style(output);
            r::render_text(report, &mut buf)?
        }
    }
    Ok(Outcome {
        output: buf,
        status: report.status,
    })
}
