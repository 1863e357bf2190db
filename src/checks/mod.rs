//! The checks, as plugins. Each check gathers evidence, matches it against the
//! knowledge base and returns a `CheckResult`: data, never an `Err` (a refused
//! connection, a timeout or a 535 are findings, not failures of the tool). Checks
//! never print; they share what they learned through `Ctx`, never through statics,
//! because a batch runs many mailboxes at once.

pub mod corroborate;
pub mod credentials;
pub mod ctx;
pub mod dns;
pub mod gate;
pub mod imap;
pub mod pop;
pub mod signin;
pub mod smtp;
pub mod tenant;
pub mod tls;

pub use crate::checks::ctx::{Ctx, NetOptions};
use crate::vocab::{CheckId, Finding, Severity, Status};
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a check returns.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub status: Status,
    pub summary: String,
    pub findings: Vec<Finding>,
    /// Structured facts for the JSON report (addresses, TLS version, capabilities...).
    pub details: serde_json::Value,
}

impl CheckResult {
    pub fn new(status: Status, summary: impl Into<String>) -> Self {
        CheckResult {
            status,
            summary: summary.into(),
            findings: Vec::new(),
            details: serde_json::Value::Null,
        }
    }
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::new(Status::Skip, reason)
    }
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    /// The status that the findings imply: fail on a critical one, warn on a warning.
    pub fn status_from(findings: &[Finding]) -> Status {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Critical) => Status::Fail,
            Some(Severity::Warning) => Status::Warn,
            _ => Status::Pass,
        }
    }
}

/// The server family a session's greeting shows, and the details every protocol
/// check starts from (greeting, fingerprint, capabilities before TLS).
pub fn session_facts(
    ctx: &Ctx,
    protocol: crate::vocab::Protocol,
    s: &crate::net::session::Session,
) -> (Option<String>, serde_json::Value) {
    let fp =
        crate::knowledge::matcher::fingerprint(ctx.kb, protocol, &s.greeting).map(str::to_string);
    let details = serde_json::json!({
        "greeting": s.greeting,
        "fingerprint": fp,
        "capabilities_before_tls": s.pre_tls_caps,
    });
    (fp, details)
}

/// A server that answered the credentials with another challenge: the exchange was
/// cancelled, so this is the server's protocol error, not a wrong password.
pub fn asked_again(challenge: &str) -> crate::net::conn::NetError {
    crate::net::conn::NetError::Protocol {
        phase: "waiting for the login result".into(),
        what: format!(
            "it asked for more ({}) after the credentials; the exchange was cancelled with `*`, so no second attempt was made",
            crate::net::excerpt(challenge)
        ),
    }
}

/// A token login that could not be tried: the server offers no XOAUTH2. The login
/// was not tested, so this can never pass.
pub fn xoauth2_not_offered(msg: &str, evidence: String) -> CheckResult {
    CheckResult::new(Status::Fail, msg).with_findings(vec![Finding::new(
        "XOAUTH2_NOT_OFFERED",
        Severity::Critical,
        msg,
    )
    .with_evidence(evidence)])
}

/// A connection-level failure (time-out, close, garbage) as the check's result.
pub fn net_fail(e: crate::net::conn::NetError) -> CheckResult {
    CheckResult::new(Status::Fail, e.to_string()).with_findings(vec![Finding::new(
        e.code(),
        Severity::Critical,
        e.to_string(),
    )])
}

/// Turns a server's refusal into a finding through the knowledge base; `fallback`
/// is the code used when no signature knows the reply.
pub fn reply_finding(
    ctx: &Ctx,
    protocol: crate::vocab::Protocol,
    reply: &str,
    fingerprint: Option<&str>,
    fallback: &str,
) -> Finding {
    let matches =
        crate::knowledge::matcher::match_reply(ctx.kb, Some(protocol), reply, fingerprint);
    let (code, title) = match matches
        .first()
        .and_then(|m| ctx.kb.diagnosis(&m.signature.def.diagnosis))
    {
        Some(def) => (def.code.clone(), def.title.clone()),
        None => (
            fallback.to_string(),
            ctx.kb
                .diagnosis(fallback)
                .map(|d| d.title.clone())
                .unwrap_or_default(),
        ),
    };
    let severity = ctx
        .kb
        .diagnosis(&code)
        .map(|d| d.severity)
        .unwrap_or(Severity::Critical);
    Finding::new(&code, severity, title).with_evidence(reply.to_string())
}

/// A refused XOAUTH2 login: Exchange answers a bad token with the same words as a
/// bad password, so password readings become OAUTH_TOKEN_REJECTED; policy readings
/// (SMTP AUTH disabled, mailbox not connected...) stand.
pub fn token_refusal(
    ctx: &Ctx,
    protocol: crate::vocab::Protocol,
    reply: &str,
    fingerprint: Option<&str>,
) -> Finding {
    const PASSWORD_READINGS: &[&str] = &[
        "BAD_CREDENTIALS",
        "M365_AUTH_UNSUCCESSFUL",
        "M365_BASIC_AUTH_DISABLED",
        "M365_IMAP_BASIC_AUTH_RETIRED",
        "M365_POP_BASIC_AUTH_RETIRED",
        "GMAIL_APP_PASSWORD_REQUIRED",
        "APP_PASSWORD_REQUIRED",
        "OUTLOOK_COM_BASIC_AUTH_RETIRED",
    ];
    let f = reply_finding(ctx, protocol, reply, fingerprint, "OAUTH_TOKEN_REJECTED");
    if !PASSWORD_READINGS.contains(&f.code.as_str()) && f.code != "OAUTH_TOKEN_REJECTED" {
        return f;
    }
    if is_exchange_online(ctx, fingerprint) {
        if let Some(f) = refusal_of_a_fitting_token(ctx, protocol, reply) {
            return f;
        }
    }
    if !PASSWORD_READINGS.contains(&f.code.as_str()) {
        return f;
    }
    let title = ctx
        .kb
        .diagnosis("OAUTH_TOKEN_REJECTED")
        .map(|d| d.title.clone())
        .unwrap_or_default();
    Finding::new("OAUTH_TOKEN_REJECTED", Severity::Critical, title).with_evidence(reply.to_string())
}

/// A refusal of a token whose claims fit (Exchange Online's audience, the
/// protocol's scope or role, not expired) says more than "token rejected": for
/// an app-only token, that Exchange does not let the app into this mailbox; for
/// a delegated token over IMAP or POP, that the protocol is off for the mailbox.
fn refusal_of_a_fitting_token(
    ctx: &Ctx,
    protocol: crate::vocab::Protocol,
    reply: &str,
) -> Option<Finding> {
    use crate::vocab::Protocol;
    let claims = crate::oauth::decode_claims(ctx.token.as_ref()?.expose())?;
    let now = chrono::Utc::now().timestamp();
    if !crate::oauth::review(&claims, &ctx.target.user, &[protocol], now).is_empty()
        || claims.audience.is_empty()
    {
        return None;
    }
    let (_, role) = crate::oauth::needed(protocol);
    let app_only = claims.roles.iter().any(|r| r.eq_ignore_ascii_case(role));
    let (code, message) = if app_only {
        (
            "APP_ONLY_NO_MAILBOX_PERMISSION",
            format!(
                "Exchange Online refused the app-only token, which has the {role} role, for {}: the app's service principal has no permission on this mailbox, or Exchange does not know the service principal",
                ctx.target.user
            ),
        )
    } else if protocol != Protocol::Smtp {
        let setting = if protocol == Protocol::Imap {
            "ImapEnabled"
        } else {
            "PopEnabled"
        };
        (
            "OAUTH_PROTOCOL_DISABLED_FOR_MAILBOX",
            format!(
                "the token has Exchange Online's audience and the {} scope, and was refused: {setting} is probably False for {}",
                crate::oauth::needed(protocol).0,
                ctx.target.user
            ),
        )
    } else {
        return None;
    };
    Some(Finding::new(code, Severity::Critical, message).with_evidence(reply.to_string()))
}

/// The dated verdict for a password login on Exchange Online over SMTP: one that
/// worked (`worked`), or one refused because SMTP AUTH is off for the tenant or
/// the mailbox, where turning it back on is only a stopgap for a password.
pub fn smtp_sunset_finding(ctx: &Ctx, worked: bool) -> Option<Finding> {
    let off = ctx.kb.fact("exo-smtp-basic-auth-default-off")?;
    let days = (off.date - ctx.today).num_days();
    let user = &ctx.target.user;
    let way_out = format!(
        "the lasting way is OAuth (`mailbox-doctor check {user} --sign-in device` proves it), or for a device without OAuth, the paths `mailbox-doctor paths {user}` tests"
    );
    let message = match (worked, days > 0) {
        (true, true) => format!(
            "SMTP AUTH with a password works for this mailbox today. Microsoft disables it by default for existing tenants at the end of December 2026 ({days} days left; admins can re-enable it); the final removal date is to be announced in the second half of 2027"
        ),
        (true, false) => format!(
            "SMTP AUTH with a password still works for this mailbox, although Microsoft disabled it by default for existing tenants on {} (an admin has re-enabled it); the final removal date is to be announced in the second half of 2027",
            off.date
        ),
        (false, true) => format!(
            "Turning SMTP AUTH back on lets a password log in only for a while: Microsoft disables password SMTP AUTH by default for existing tenants at the end of December 2026 ({days} days left), and removes it at a date to be announced in the second half of 2027; {way_out}"
        ),
        (false, false) => format!(
            "Turning SMTP AUTH back on lets a password log in only until Microsoft removes password SMTP AUTH (off by default for existing tenants since {}; the removal date is to be announced in the second half of 2027); {way_out}",
            off.date
        ),
    };
    // Within --critical-days of the change the warning becomes critical.
    let severity = if days > 0 && days <= ctx.net.critical_days {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(
        Finding::new("M365_SMTP_BASIC_AUTH_SUNSET", severity, message)
            .with_evidence(off.source.clone()),
    )
}

/// Whether the mailbox is on Exchange Online, by profile or by the server's greeting.
pub fn is_exchange_online(ctx: &Ctx, fingerprint: Option<&str>) -> bool {
    fingerprint == Some("exchange-online")
        || (fingerprint.is_none() && ctx.target.provider.starts_with("microsoft365"))
}

/// Whether check `id` runs in this pass: selected, with what it needs selected too
/// (the runner skips it otherwise), so a slot it sets will be set.
pub fn will_run(ctx: &Ctx, id: CheckId) -> bool {
    ctx.selected.contains(&id) && by_id(id).needs().iter().all(|n| ctx.selected.contains(n))
}

/// A check: an id, the checks it needs, and one async run.
pub trait Check: Sync {
    fn id(&self) -> CheckId;
    /// Checks whose results this one needs; when one of them is not run, this one
    /// is skipped with the reason.
    fn needs(&self) -> &'static [CheckId];
    /// One line on what the check does, for `list`.
    fn describe(&self) -> &'static str;
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult>;
}

/// Every check, in display order (which also respects `needs`).
pub const CHECKS: &[&dyn Check] = &[
    &credentials::Credentials,
    &dns::Dns,
    &tls::Tls,
    &smtp::Smtp,
    &imap::Imap,
    &pop::Pop,
    &tenant::Tenant,
];

pub fn by_id(id: CheckId) -> &'static dyn Check {
    CHECKS
        .iter()
        .copied()
        .find(|c| c.id() == id)
        .unwrap_or(&credentials::Credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_order_respects_needs() {
        let mut seen: Vec<CheckId> = Vec::new();
        for c in CHECKS {
            assert!(!seen.contains(&c.id()), "duplicate id {}", c.id());
            for need in c.needs() {
                assert!(
                    seen.contains(need),
                    "{} needs {} which comes later",
                    c.id(),
                    need
                );
            }
            seen.push(c.id());
        }
        assert_eq!(seen.len(), 7);
    }

    #[test]
    fn by_id_finds_every_check() {
        for c in CHECKS {
            assert_eq!(by_id(c.id()).id(), c.id());
        }
    }
}
