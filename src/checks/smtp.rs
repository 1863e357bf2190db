//! The `smtp` check: on the session the tls check opened, EHLO again (capabilities
//! after TLS), choose PLAIN (with initial response, one round trip) or LOGIN from
//! what is advertised, send the credential ONCE, read the full reply, map it
//! through the knowledge base, QUIT. It never sends a message.

use super::{
    is_exchange_online, net_fail, reply_finding, smtp_sunset_finding, token_refusal, BoxFuture,
    Check, CheckResult, Ctx,
};
use crate::net::conn::NetError;
use crate::net::sasl;
use crate::net::session::{Session, EHLO_NAME};
use crate::net::smtp::{choose_auth, read_reply, Capabilities, Mechanism, Reply};
use crate::net::smtp_proto::{auth_command, auth_command_redacted, login_step, LoginStep};
use crate::secret::REDACTED;
use crate::vocab::{CheckId, Finding, Protocol, Severity, Status};

pub struct Smtp;

impl Check for Smtp {
    fn id(&self) -> CheckId {
        CheckId::Smtp
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns, CheckId::Tls]
    }
    fn describe(&self) -> &'static str {
        "SMTP AUTH: one login attempt over TLS, never a message"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(ctx))
    }
}

async fn run(ctx: &Ctx) -> CheckResult {
    let mut s = match ctx.shared.take_session(Protocol::Smtp).await {
        Ok(s) => s,
        Err(why) => return CheckResult::skip(why),
    };
    let (fingerprint, mut details) = super::session_facts(ctx, Protocol::Smtp, &s);
    let r = login(ctx, &mut s, fingerprint.as_deref(), &mut details).await;
    s.conn.farewell("QUIT").await;
    r.with_details(details)
}

async fn login(
    ctx: &Ctx,
    s: &mut Session,
    fp: Option<&str>,
    details: &mut serde_json::Value,
) -> CheckResult {
    if let Err(e) = s
        .conn
        .send(&format!("EHLO {EHLO_NAME}"), "sending EHLO")
        .await
    {
        return net_fail(e);
    }
    let ehlo = match read_reply(&mut s.conn, "waiting for the EHLO reply").await {
        Ok(r) => r,
        Err(e) => return net_fail(e),
    };
    if ehlo.code != 250 {
        let f = reply_finding(
            ctx,
            Protocol::Smtp,
            &ehlo.raw(),
            fp,
            "SERVER_PROTOCOL_ERROR",
        );
        return CheckResult::new(Status::Fail, format!("EHLO refused: {}", ehlo.text()))
            .with_findings(vec![f]);
    }
    let caps = Capabilities::from_ehlo(&ehlo);
    details["capabilities"] = serde_json::json!(caps.raw);
    details["auth_mechanisms"] = serde_json::json!(caps.auth_mechanisms);
    if ctx.secret.is_some() || ctx.token.is_some() {
        if let Err(withheld) = super::gate::credentials(ctx, s) {
            return withheld;
        }
    }
    if let Some(token) = &ctx.token {
        return xoauth2(ctx, s, fp, details, &caps, &ehlo, token.expose()).await;
    }
    let Some(secret) = &ctx.secret else {
        let offered = if caps.auth_mechanisms.is_empty() {
            "no AUTH offered".to_string()
        } else {
            format!("AUTH {}", caps.auth_mechanisms.join(" "))
        };
        return CheckResult::new(
            Status::Pass,
            format!("{offered}; login not tested (no password)"),
        );
    };
    let Some(mech) = choose_auth(&caps, false) else {
        let msg = if caps.auth_mechanisms.is_empty() {
            "the server offers no AUTH after TLS: SMTP AUTH is off on this server or port"
                .to_string()
        } else {
            format!(
                "the server offers only AUTH {}: no password mechanism",
                caps.auth_mechanisms.join(" ")
            )
        };
        let f = Finding::new("SMTP_AUTH_NOT_OFFERED", Severity::Critical, msg.clone())
            .with_evidence(ehlo.raw());
        return CheckResult::new(Status::Fail, msg).with_findings(vec![f]);
    };
    details["auth_mechanism"] = serde_json::json!(mech.name());
    let user = ctx.target.user.as_str();
    let reply = if mech == Mechanism::Plain {
        // PLAIN with an initial response: the whole login in one round trip.
        let ir = sasl::plain_initial(user, secret.expose());
        let line = auth_command(mech, Some(&ir));
        if let Err(e) = s
            .conn
            .send_secret(&line, &auth_command_redacted(mech, true), "sending AUTH")
            .await
        {
            return net_fail(e);
        }
        match read_reply(&mut s.conn, "waiting for the AUTH reply").await {
            Ok(r) => cancel_if_asked_again(s, r).await,
            Err(e) => Err(e),
        }
    } else {
        auth_login(s, user, secret.expose()).await
    };
    let reply = match reply {
        Ok(r) => r,
        Err(e) => return net_fail(e),
    };
    if reply.code == 235 {
        let mut findings = Vec::new();
        if is_exchange_online(ctx, fp) {
            findings.extend(smtp_sunset_finding(ctx, true));
        }
        let status = CheckResult::status_from(&findings);
        return CheckResult::new(status, format!("AUTH {mech} accepted: {}", reply.text()))
            .with_findings(findings);
    }
    let fallback = if reply.code >= 500 {
        "BAD_CREDENTIALS"
    } else {
        "TEMPORARY_SERVER_ERROR"
    };
    let f = reply_finding(ctx, Protocol::Smtp, &reply.raw(), fp, fallback);
    let summary = format!("AUTH {mech} refused: {}", crate::net::excerpt(&reply.raw()));
    let switched_off = [
        "M365_SMTP_AUTH_DISABLED_TENANT",
        "M365_SMTP_AUTH_DISABLED_MAILBOX",
    ];
    let mut findings = vec![f];
    if switched_off.contains(&findings[0].code.as_str()) && is_exchange_online(ctx, fp) {
        findings.extend(smtp_sunset_finding(ctx, false));
    }
    CheckResult::new(CheckResult::status_from(&findings), summary).with_findings(findings)
}

/// AUTH XOAUTH2 with the token as initial response; a 334 error challenge (Google
/// sends one) is answered with an empty line to get the final reply.
async fn xoauth2(
    ctx: &Ctx,
    s: &mut Session,
    fp: Option<&str>,
    details: &mut serde_json::Value,
    caps: &Capabilities,
    ehlo: &Reply,
    token: &str,
) -> CheckResult {
    if !caps.offers(Mechanism::XOAuth2) {
        let msg = format!(
            "the server does not offer AUTH XOAUTH2 (it offers: {}); the token was not sent",
            if caps.auth_mechanisms.is_empty() {
                "no AUTH".to_string()
            } else {
                caps.auth_mechanisms.join(" ")
            }
        );
        let f = Finding::new("SMTP_AUTH_NOT_OFFERED", Severity::Critical, msg.clone())
            .with_evidence(ehlo.raw());
        return CheckResult::new(Status::Fail, msg).with_findings(vec![f]);
    }
    details["auth_mechanism"] = serde_json::json!("XOAUTH2");
    let payload = sasl::xoauth2(&ctx.target.user, token);
    let line = auth_command(Mechanism::XOAuth2, Some(&payload));
    let shown = auth_command_redacted(Mechanism::XOAuth2, true);
    if let Err(e) = s
        .conn
        .send_secret(&line, &shown, "sending AUTH XOAUTH2")
        .await
    {
        return net_fail(e);
    }
    let mut reply = match read_reply(&mut s.conn, "waiting for the AUTH reply").await {
        Ok(r) => r,
        Err(e) => return net_fail(e),
    };
    if reply.code == 334 {
        details["xoauth2_challenge"] =
            serde_json::json!(ctx.scrub.decoded_challenge(&reply.text()));
        if let Err(e) = s.conn.send("", "answering the XOAUTH2 challenge").await {
            return net_fail(e);
        }
        reply = match read_reply(&mut s.conn, "waiting for the AUTH reply").await {
            Ok(r) => r,
            Err(e) => return net_fail(e),
        };
    }
    if reply.code == 235 {
        return CheckResult::new(
            Status::Pass,
            format!("AUTH XOAUTH2 accepted: {}", reply.text()),
        );
    }
    let f = token_refusal(ctx, Protocol::Smtp, &reply.raw(), fp);
    let summary = format!(
        "AUTH XOAUTH2 refused: {}",
        crate::net::excerpt(&reply.raw())
    );
    CheckResult::new(CheckResult::status_from(std::slice::from_ref(&f)), summary)
        .with_findings(vec![f])
}

/// AUTH LOGIN with the username as the initial response (`AUTH LOGIN <base64
/// user>`, answered by the password prompt): one round trip fewer than waiting
/// for the `Username:` prompt. A 500, 501 or 504 to that form means the server
/// refused its syntax before any credential was checked: the plain form is tried
/// once. A server that asks for the username again gets it; the password is sent
/// at most once.
pub async fn auth_login(s: &mut Session, user: &str, password: &str) -> Result<Reply, NetError> {
    let opening = format!("AUTH LOGIN {}", sasl::login_user(user));
    s.conn.send(&opening, "sending AUTH LOGIN").await?;
    let (mut initial, mut user_sent) = (true, true);
    let mut r = read_reply(&mut s.conn, "waiting for the password prompt").await?;
    // At most: the plain opening, one username prompt, then the password.
    for _ in 0..3 {
        let challenge = (r.code == 334)
            .then(|| sasl::decode_challenge(&r.text()))
            .flatten();
        match login_step(r.code, challenge.as_deref(), initial, user_sent) {
            LoginStep::Done => return Ok(r),
            LoginStep::WithoutInitialResponse => {
                (initial, user_sent) = (false, false);
                s.conn
                    .send(&auth_command(Mechanism::Login, None), "sending AUTH LOGIN")
                    .await?;
                r = read_reply(&mut s.conn, "waiting for the username prompt").await?;
            }
            LoginStep::User => {
                user_sent = true;
                s.conn
                    .send(&sasl::login_user(user), "sending the username")
                    .await?;
                r = read_reply(&mut s.conn, "waiting for the password prompt").await?;
            }
            LoginStep::Password => {
                s.conn
                    .send_secret(
                        &sasl::login_password(password),
                        REDACTED,
                        "sending the password",
                    )
                    .await?;
                let r = read_reply(&mut s.conn, "waiting for the AUTH reply").await?;
                return cancel_if_asked_again(s, r).await;
            }
        }
    }
    // A server that keeps prompting for the username: never the password.
    Err(super::asked_again(&r.raw()))
}

/// A server that answers the credentials with another 334 challenge would take
/// whatever comes next as another attempt: cancel the exchange (`*`, RFC 4954),
/// read its answer, and report the server's behaviour; nothing else is tried.
async fn cancel_if_asked_again(s: &mut Session, r: Reply) -> Result<Reply, NetError> {
    if r.code != 334 {
        return Ok(r);
    }
    s.conn.send("*", "cancelling the AUTH exchange").await?;
    let _ = read_reply(&mut s.conn, "waiting for the cancelled AUTH's reply").await;
    Err(super::asked_again(&r.raw()))
}
