//! `--sign-in` and its options (`cli::SignInArgs`) turned into a sign-in plan:
//! the client secret and certificate read from files only their owner can read,
//! and the person told on standard error what to do (the device code, the
//! address to open). Any command that signs in uses `plan`.

use crate::checks::signin::{Flow, Plan, THUNDERBIRD_CLIENT_ID};
use crate::cli::{BorrowedClient, SignInArgs, SignInFlow};
use crate::oauth::app::Certificate;
use std::io::Write as _;
use std::time::Duration;

/// The largest certificate file read.
const MAX_PEM: u64 = 256 * 1024;

/// Tells the person at the keyboard, on standard error.
pub fn stderr_notify() -> crate::oauth::Notify {
    std::sync::Arc::new(|line: &str| {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "{line}");
        let _ = e.flush();
    })
}

/// The plan for `--sign-in`, or None when no sign-in was asked for.
pub fn plan(args: &SignInArgs, notify: crate::oauth::Notify) -> anyhow::Result<Option<Plan>> {
    let flow = match (args.sign_in, &args.refresh_token_file) {
        (Some(SignInFlow::Device), _) => Flow::Device,
        (Some(SignInFlow::Browser), _) => Flow::Browser,
        (Some(SignInFlow::App), _) => Flow::App,
        (None, Some(_)) => Flow::Refresh,
        (None, None) => return Ok(None),
    };
    let (client_id, borrowed_from) = match (&args.client.client_id, args.client.borrow_client) {
        (Some(id), _) => {
            let id = id.trim();
            if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_control() || c == ' ') {
                anyhow::bail!("--client-id must be an application (client) id, such as 11111111-2222-3333-4444-555555555555");
            }
            (id.to_string(), None)
        }
        (None, Some(BorrowedClient::Thunderbird)) => {
            if flow == Flow::App {
                anyhow::bail!("--sign-in app needs your own app registration (--client-id): a borrowed public client has no app permissions in your tenant");
            }
            (THUNDERBIRD_CLIENT_ID.to_string(), Some("Mozilla Thunderbird"))
        }
        (None, None) => anyhow::bail!(
            "--sign-in needs --client-id: the application (client) id of your organisation's app registration (Entra admin center > App registrations). mailbox-doctor ships no client id of its own; --borrow-client thunderbird uses Mozilla Thunderbird's public client instead, if your tenant allows it"
        ),
    };
    if flow == Flow::App {
        if args.client.tenant.is_none() {
            anyhow::bail!("--sign-in app needs --tenant (the tenant id or its domain)");
        }
        if args.client_secret_file.is_none() && args.client_certificate.is_none() {
            anyhow::bail!("--sign-in app needs --client-secret-file or --client-certificate");
        }
    }
    if flow == Flow::Device
        && (args.client_secret_file.is_some() || args.client_certificate.is_some())
    {
        anyhow::bail!("--sign-in device signs in as a public client: it takes no client secret or certificate");
    }
    if flow == Flow::Refresh && args.client_certificate.is_some() {
        anyhow::bail!("--refresh-token-file takes no --client-certificate: the refresh is sent as the client that signed in (with --client-secret-file if it has a secret)");
    }
    let refresh_token = match &args.refresh_token_file {
        Some(f) => Some(crate::secret::input::from_file("--refresh-token-file", f)?),
        None => None,
    };
    let client_secret = match &args.client_secret_file {
        Some(f) => Some(crate::secret::input::from_file("--client-secret-file", f)?),
        None => None,
    };
    let certificate = match &args.client_certificate {
        Some(f) => {
            let pem = crate::secret::input::private_file("--client-certificate", f, MAX_PEM)?;
            let c = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("--client-certificate {}: {e}", f.display()))?;
            Some(std::sync::Arc::new(c))
        }
        None => None,
    };
    if let Some(p) = &args.save_token {
        if p.exists() {
            anyhow::bail!(
                "--save-token {} exists already; name a new file",
                p.display()
            );
        }
    }
    Ok(Some(Plan {
        flow,
        client_id,
        borrowed_from,
        tenant: args.client.tenant.clone(),
        timeout: args.client.sign_in_timeout.map(Duration::from_secs),
        open_browser: !args.client.no_browser,
        client_secret,
        certificate,
        save_token: args.save_token.clone(),
        notify,
        refresh_token,
        rotate_into: args.refresh_token_file.clone(),
    }))
}

/// Refuses, before anything is sent, a sign-in the provider the evidence named
/// (`--provider`, or a known mail domain) cannot do: Google's device flow does
/// not allow the Gmail scope, Google has no app-only access to a Gmail mailbox,
/// and Google's Desktop-app clients need their client secret.
pub fn for_provider(plan: &Plan, provider: &str) -> anyhow::Result<()> {
    let google = provider.starts_with("gmail") || provider.starts_with("google");
    if !google {
        return Ok(());
    }
    let browser = "sign in with --sign-in browser and your own Google Cloud OAuth client of type Desktop app (--client-id, --client-secret-file)";
    match plan.flow {
        Flow::Device => anyhow::bail!(
            "--sign-in device cannot sign in to Gmail: Google's device flow does not allow the Gmail scope (https://mail.google.com/); {browser}"
        ),
        Flow::App => anyhow::bail!(
            "--sign-in app cannot sign in to Gmail: Google has no app-only (client credentials) access to a mailbox by IMAP, POP or SMTP; {browser}"
        ),
        _ => {}
    }
    if plan.borrowed_from.is_some() {
        anyhow::bail!("--borrow-client names a Microsoft client; for Gmail, {browser}");
    }
    if plan.client_secret.is_none() {
        anyhow::bail!(
            "signing in to Gmail needs --client-secret-file: Google's Desktop-app clients send their client secret with every token request"
        );
    }
    Ok(())
}
