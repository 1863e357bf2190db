//! What only several checks' results together make sure of, added once they are
//! all in: settings that differ from what the domain publishes, judged by where
//! the connection or the login failed (SERVER_SETTINGS_DIFFER); an autoconfig
//! entry that lists only OAuth2 for a protocol whose password login was refused;
//! a pasted value one character off the provider's app-password shape that the
//! server refused as a wrong password (then that is the root cause).
//!
//! It reads results and adds findings; it never talks to the network.

use super::{CheckResult, Ctx};
use crate::target::discovery::{compare, protocol_words, published_by};
use crate::vocab::{CheckId, Finding, Severity, Status};

/// Codes of a protocol check that mean the session never got as far as a login
/// the settings could not explain.
const SETTINGS_FAILURES: &[&str] = &[
    "SMTP_AUTH_NOT_OFFERED",
    "TLS_REQUIRED_BY_SERVER",
    "IMAP_LOGIN_DISABLED",
    "STARTTLS_MISSING",
    "WRONG_TLS_MODE",
    "CONNECTION_CLOSED",
    "TCP_TIMEOUT",
];

/// Adds the corroborated findings to `results` (each check's, by id).
pub fn corroborate(ctx: &Ctx, results: &mut [(CheckId, &mut CheckResult)]) {
    let mut add = Vec::new();
    settings(ctx, results, &mut add);
    oauth2_only(ctx, results, &mut add);
    for (id, f) in add {
        if let Some((_, r)) = results.iter_mut().find(|(i, _)| *i == id) {
            raise(r, f.severity);
            r.findings.push(f);
        }
    }
    damaged_paste(ctx, results);
}

fn raise(r: &mut CheckResult, severity: Severity) {
    r.status = match (r.status, severity) {
        (Status::Error, _) => Status::Error,
        (_, Severity::Critical) => Status::Fail,
        (Status::Pass | Status::Skip, Severity::Warning) => Status::Warn,
        (s, _) => s,
    };
}

fn result<'a>(results: &'a [(CheckId, &mut CheckResult)], id: CheckId) -> Option<&'a CheckResult> {
    results.iter().find(|(i, _)| *i == id).map(|(_, r)| &**r)
}

/// Each server the user named, against what is published for its protocol.
fn settings(ctx: &Ctx, results: &[(CheckId, &mut CheckResult)], add: &mut Vec<(CheckId, Finding)>) {
    let tls = result(results, CheckId::Tls);
    for ep in &ctx.target.endpoints {
        let id = ep.protocol.check_id();
        if ep.source != "flag" || !ctx.selected.contains(&id) {
            continue;
        }
        let published = ctx.target.published(ctx.kb, ep.protocol);
        let Some(diff) = compare(ep, &published) else {
            continue;
        };
        let failed_to_connect =
            tls.is_some_and(|t| !t.details[ep.protocol.as_str()]["error"].is_null());
        let failed_before_login = result(results, id).is_some_and(|r| {
            r.findings
                .iter()
                .any(|f| SETTINGS_FAILURES.contains(&f.code.as_str()))
        });
        // Where the server answered and the login ran, a different (but working)
        // host or port does not explain a refusal: it is only noted.
        let severity = if failed_to_connect || failed_before_login {
            Severity::Critical
        } else {
            Severity::Info
        };
        let mut f =
            Finding::new("SERVER_SETTINGS_DIFFER", severity, diff.message(ep)).with_fix(diff.fix());
        if own_server(ctx, ep, tls) {
            f = f.as_second_reading();
        }
        let to = if tls.is_some() { CheckId::Tls } else { id };
        add.push((to, f));
    }
}

/// Failures that are facts of the server itself, whoever's mailbox it holds.
const SERVER_FACTS: &[&str] = &["TLS_PROTOCOL_TOO_OLD"];

/// The server the user named failed in a way that is a fact of that server (it
/// speaks only TLS 1.0), and its greeting shows a mail server of its own, not the
/// provider's: a mailbox may well live there (a hybrid on-premises Exchange), so
/// the failure is certain and the published settings only a second reading.
fn own_server(ctx: &Ctx, ep: &crate::vocab::Endpoint, tls: Option<&CheckResult>) -> bool {
    let Some(tls) = tls else {
        return false;
    };
    let at = format!("{}:", super::tls::at(ep));
    let server_fact = tls
        .findings
        .iter()
        .any(|f| SERVER_FACTS.contains(&f.code.as_str()) && f.message.starts_with(&at));
    let greetings = ctx.shared.greetings.peek().unwrap_or_default();
    let own_greeting = greetings.iter().any(|(p, fp)| {
        *p == ep.protocol
            && fp
                .as_deref()
                .and_then(|fp| crate::knowledge::provider_for_fingerprint(ctx.kb, fp))
                .is_none_or(|provider| provider != ctx.target.provider)
    });
    server_fact && own_greeting
}

/// A password refused where the domain's autoconfig lists only OAuth2.
fn oauth2_only(
    ctx: &Ctx,
    results: &[(CheckId, &mut CheckResult)],
    add: &mut Vec<(CheckId, Finding)>,
) {
    if ctx.token.is_some() || ctx.secret.is_none() {
        return;
    }
    for ep in &ctx.target.endpoints {
        let id = ep.protocol.check_id();
        let Some(r) = result(results, id) else {
            continue;
        };
        let published = ctx.target.published(ctx.kb, ep.protocol);
        let entry = published
            .iter()
            .filter(|p| p.source == "autoconfig" && p.oauth2_only())
            .find(|p| p.host.eq_ignore_ascii_case(&ep.host) && p.port == ep.port)
            .or_else(|| {
                published
                    .iter()
                    .find(|p| p.source == "autoconfig" && p.oauth2_only())
            });
        let Some(p) = entry else {
            continue;
        };
        let refused =
            r.status == Status::Fail && r.findings.iter().any(|f| f.severity == Severity::Critical);
        let what = protocol_words(ep.protocol);
        let (severity, message) = if refused {
            (
                Severity::Critical,
                format!(
                    "{} lists only OAuth2 for {what} at {}:{}: a password login is expected to fail there, and it did",
                    published_by(p),
                    p.host,
                    p.port
                ),
            )
        } else if r.status == Status::Pass {
            (
                Severity::Info,
                format!(
                    "{} lists only OAuth2 for {what}, yet the password login worked",
                    published_by(p)
                ),
            )
        } else {
            continue;
        };
        let f = Finding::new("SERVER_SETTINGS_DIFFER", severity, message).with_fix(format!(
            "Sign in to {what} with OAuth 2.0: use a mail client that supports it (test a token with --oauth-token-stdin). A password, an app password included, is refused where only OAuth2 is published."
        ));
        add.push((id, f));
    }
}

/// A value one character off the app-password shape, refused as bad credentials:
/// the damaged paste is the cause, and the fix says how many characters to paste.
fn damaged_paste(ctx: &Ctx, results: &mut [(CheckId, &mut CheckResult)]) {
    let refused = results
        .iter()
        .filter(|(id, _)| matches!(id, CheckId::Smtp | CheckId::Imap | CheckId::Pop))
        .any(|(_, r)| r.findings.iter().any(|f| f.code == "BAD_CREDENTIALS"));
    if !refused {
        return;
    }
    let Some((_, cred)) = results
        .iter_mut()
        .find(|(id, _)| *id == CheckId::Credentials)
    else {
        return;
    };
    let shape = &cred.details["app_password"];
    if shape["near_miss"] != true {
        return;
    }
    let expected = shape["expected"].as_u64().unwrap_or_default();
    let description = shape["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let provider = ctx
        .kb
        .provider(&ctx.target.provider)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let Some(f) = cred
        .findings
        .iter_mut()
        .find(|f| f.code == "CRED_APP_PASSWORD_SHAPE")
    else {
        return;
    };
    f.severity = Severity::Critical;
    f.message = format!(
        "{}; the server refused it as a wrong password, so the app password was most likely damaged in copying",
        f.message
    );
    f.fix = Some(format!(
        "Copy the {provider} app password again and paste all {expected} characters ({description}); count them if in doubt. If it is no longer shown, create a new app password."
    ));
    cred.summary = f.message.clone();
    cred.status = Status::Fail;
}
