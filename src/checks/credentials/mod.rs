//! The `credentials` check: what was pasted, examined without ever echoing it.
//! Leading, trailing and inner whitespace, line breaks, invisible characters,
//! wrapping quotes, an app password pasted in its display groups, the provider's
//! app-password shape, and characters legacy apps mangle; and the username's form.
//! Every finding says where (character position) and names the character
//! (`U+200B ZERO WIDTH SPACE`), but never shows the password's own letters.
//!
//! The analysis is pure (`analyze_password`, `analyze_username`) so it can be
//! property-tested; the character tables and shapes come from `checks/`.

mod chars;
mod password;
mod username;

pub use password::{analyze_password, near_miss};
pub use username::analyze_username;

use super::{BoxFuture, Check, CheckResult, Ctx};
use crate::vocab::{CheckId, Finding, Protocol, Status};

pub struct Credentials;

impl Check for Credentials {
    fn id(&self) -> CheckId {
        CheckId::Credentials
    }
    fn needs(&self) -> &'static [CheckId] {
        &[]
    }
    fn describe(&self) -> &'static str {
        "examine the pasted password and the username (offline, never echoed)"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async move { run(ctx) })
    }
}

fn run(ctx: &Ctx) -> CheckResult {
    let provider = ctx.kb.provider(&ctx.target.provider);
    let mut findings = analyze_username(ctx.kb, &ctx.target.user, provider);
    if let Some(token) = &ctx.token {
        let (f, summary) = review_token(ctx, token.expose());
        findings.extend(f);
        return CheckResult::new(CheckResult::status_from(&findings), summary)
            .with_findings(findings);
    }
    let Some(secret) = &ctx.secret else {
        let status = CheckResult::status_from(&findings);
        // After a failed sign-in there is no token: say so, not "no password".
        let given = match &ctx.signin_failed {
            Some(code) => format!("no token: the sign-in failed ({code})"),
            None => "no password given".to_string(),
        };
        let summary = if findings.is_empty() {
            format!("{given}; username looks right")
        } else {
            format!("{given}; the username has a problem")
        };
        let status = if status == Status::Pass {
            Status::Skip
        } else {
            status
        };
        return CheckResult::new(status, summary).with_findings(findings);
    };
    let (pw_findings, summary) = analyze_password(ctx.kb, secret.expose(), provider);
    findings.extend(pw_findings);
    let status = CheckResult::status_from(&findings);
    let r = CheckResult::new(status, summary).with_findings(findings);
    // Lengths only: what a refused login needs to tell a damaged paste.
    match (
        near_miss(ctx.kb, secret.expose(), provider),
        provider.and_then(|p| p.app_password.as_ref()),
    ) {
        (Some((got, expected)), Some(shape)) => r.with_details(serde_json::json!({
            "app_password": {
                "near_miss": true,
                "length": got,
                "expected": expected,
                "description": shape.description,
            }
        })),
        _ => r,
    }
}

/// What an OAuth access token's claims say (read, not verified) for the protocols
/// this run tests.
fn review_token(ctx: &Ctx, token: &str) -> (Vec<Finding>, String) {
    let mut protocols: Vec<Protocol> = [Protocol::Smtp, Protocol::Imap, Protocol::Pop]
        .into_iter()
        .filter(|p| ctx.selected.contains(&p.check_id()) && ctx.target.endpoint(*p).is_some())
        .collect();
    if protocols.is_empty() {
        protocols = ctx.target.endpoints.iter().map(|e| e.protocol).collect();
    }
    if protocols.is_empty() {
        // No server known yet: the token is judged for every protocol.
        protocols = vec![Protocol::Smtp, Protocol::Imap, Protocol::Pop];
    }
    let Some(claims) = crate::oauth::decode_claims(token) else {
        return (
            Vec::new(),
            "an opaque access token (not a JWT): its claims cannot be read; it is sent as is"
                .into(),
        );
    };
    let now = chrono::Utc::now().timestamp();
    let findings = crate::oauth::review(&claims, &ctx.target.user, &protocols, now);
    let expiry = match claims.expires {
        Some(e) if e > now => format!("expires in {} min", (e - now) / 60),
        Some(_) => "expired".to_string(),
        None => "no expiry".to_string(),
    };
    let mut summary = format!(
        "access token for {}, audience {}, {expiry}",
        claims.user.as_deref().unwrap_or("an application"),
        claims
            .audience
            .first()
            .map(String::as_str)
            .unwrap_or("none")
    );
    if findings.is_empty() {
        summary.push_str("; scopes fit");
    }
    (findings, summary)
}

#[cfg(test)]
mod tests;
