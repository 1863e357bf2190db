//! The `imap` check: capabilities after TLS, `LOGINDISABLED`, then ONE login:
//! AUTHENTICATE PLAIN with SASL-IR when offered (one round trip), else LOGIN with
//! quoting or a literal. After an OK it proves the mailbox is reachable with one
//! read-only EXAMINE INBOX: Exchange Online can accept the login and then answer
//! `BAD User is authenticated but not connected.`, which is not success. LOGOUT.

use super::{net_fail, reply_finding, token_refusal, BoxFuture, Check, CheckResult, Ctx};
use crate::net::conn::NetError;
use crate::net::imap::{capabilities_in, read_tagged, Tagged};
use crate::net::imap_proto::{self, LoginPlan};
use crate::net::sasl;
use crate::net::session::Session;
use crate::secret::REDACTED;
use crate::vocab::{CheckId, Finding, Protocol, Severity, Status};

pub struct Imap;

impl Check for Imap {
    fn id(&self) -> CheckId {
        CheckId::Imap
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns, CheckId::Tls]
    }
    fn describe(&self) -> &'static str {
        "IMAP: one login over TLS, then EXAMINE INBOX to prove access"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(ctx))
    }
}

async fn command(s: &mut Session, cmd: &str, phase: &str) -> Result<Tagged, NetError> {
    let tag = s.tag();
    s.conn.send(&format!("{tag} {cmd}"), phase).await?;
    read_tagged(&mut s.conn, &tag, phase).await
}

async fn run(ctx: &Ctx) -> CheckResult {
    let mut s = match ctx.shared.take_session(Protocol::Imap).await {
        Ok(s) => s,
        Err(why) => return CheckResult::skip(why),
    };
    let (fp, mut details) = super::session_facts(ctx, Protocol::Imap, &s);
    details["backend"] = serde_json::json!(imap_proto::exchange_backend_host(&s.greeting));
    let r = login(ctx, &mut s, fp.as_deref(), &mut details).await;
    let tag = s.tag();
    s.conn.farewell(&format!("{tag} LOGOUT")).await;
    r.with_details(details)
}

async fn login(
    ctx: &Ctx,
    s: &mut Session,
    fp: Option<&str>,
    details: &mut serde_json::Value,
) -> CheckResult {
    if s.caps.is_empty() {
        match command(s, "CAPABILITY", "asking for capabilities").await {
            Ok(t) => s.caps = capabilities_in(t.untagged.iter().map(String::as_str)),
            Err(e) => return net_fail(e),
        }
    }
    details["capabilities"] = serde_json::json!(s.caps);
    if ctx.secret.is_some() || ctx.token.is_some() {
        if let Err(withheld) = super::gate::credentials(ctx, s) {
            return withheld;
        }
    }
    let has = |c: &str| s.caps.iter().any(|x| x == c);
    let plain = has("AUTH=PLAIN");
    let sasl_ir = has("SASL-IR");
    let literal_plus = has("LITERAL+");
    if has("LOGINDISABLED") && !plain {
        let f = Finding::new(
            "IMAP_LOGIN_DISABLED",
            Severity::Critical,
            "the server advertises LOGINDISABLED and no AUTH=PLAIN: it accepts no password here",
        )
        .with_evidence(format!("CAPABILITY {}", s.caps.join(" ")));
        return CheckResult::new(Status::Fail, "password login disabled (LOGINDISABLED)")
            .with_findings(vec![f]);
    }
    let user = ctx.target.user.as_str();
    let (mech, result) = if let Some(token) = &ctx.token {
        if !has("AUTH=XOAUTH2") {
            return super::xoauth2_not_offered(
                "the server does not offer AUTHENTICATE XOAUTH2; the token was not sent",
                format!("CAPABILITY {}", s.caps.join(" ")),
            );
        }
        let tag = s.tag();
        let payload = sasl::xoauth2(user, token.expose());
        (
            "AUTHENTICATE XOAUTH2",
            xoauth2(s, &tag, &payload, sasl_ir).await,
        )
    } else {
        let Some(secret) = &ctx.secret else {
            return CheckResult::new(Status::Pass, ctx.login_not_tested());
        };
        password_login(s, user, secret.expose(), plain, sasl_ir, literal_plus).await
    };
    details["auth_mechanism"] = serde_json::json!(mech);
    let t = match result {
        Ok(t) => t,
        Err(e) => return net_fail(e),
    };
    if !t.ok() {
        let f = if ctx.token.is_some() {
            token_refusal(ctx, Protocol::Imap, &t.line, fp)
        } else {
            reply_finding(ctx, Protocol::Imap, &t.line, fp, "BAD_CREDENTIALS")
        };
        let summary = format!("{mech} refused: {}", crate::net::excerpt(&t.line));
        return CheckResult::new(CheckResult::status_from(std::slice::from_ref(&f)), summary)
            .with_findings(vec![f]);
    }
    // Prove access: one read-only command.
    match command(s, "EXAMINE INBOX", "opening INBOX read-only").await {
        Ok(e) if e.ok() => CheckResult::new(
            Status::Pass,
            format!("{mech} accepted; INBOX opened read-only"),
        ),
        Ok(e) => {
            let f = reply_finding(
                ctx,
                Protocol::Imap,
                &e.line,
                fp,
                "M365_MAILBOX_NOT_CONNECTED",
            );
            let summary = format!(
                "login accepted but the mailbox is not usable: {}",
                crate::net::excerpt(&e.line)
            );
            CheckResult::new(Status::Fail, summary).with_findings(vec![f])
        }
        Err(e) => net_fail(e),
    }
}

/// One password login: AUTHENTICATE PLAIN (with SASL-IR when offered) or LOGIN.
async fn password_login(
    s: &mut Session,
    user: &str,
    password: &str,
    plain: bool,
    sasl_ir: bool,
    literal_plus: bool,
) -> (&'static str, Result<Tagged, NetError>) {
    let tag = s.tag();
    if plain {
        let ir = sasl::plain_initial(user, password);
        let r = if sasl_ir {
            // SASL-IR: the whole login in one round trip.
            let line = imap_proto::authenticate_command(&tag, "PLAIN", Some(&ir));
            let shown = imap_proto::authenticate_redacted(&tag, "PLAIN", true);
            match s
                .conn
                .send_secret(&line, &shown, "sending AUTHENTICATE")
                .await
            {
                Ok(()) => read_tagged(&mut s.conn, &tag, "waiting for the login result").await,
                Err(e) => Err(e),
            }
        } else {
            two_step(s, &tag, "PLAIN", &ir).await
        };
        let r = match r {
            Ok(t) => cancel_if_asked_again(s, &tag, t).await,
            Err(e) => Err(e),
        };
        ("AUTHENTICATE PLAIN", r)
    } else {
        let plan =
            imap_proto::login_args(user, password, literal_plus).prefixed(&format!("{tag} LOGIN "));
        ("LOGIN", login_command(s, &tag, plan).await)
    }
}

/// A server that answers the credentials with another `+` challenge would take
/// the next line as another attempt: cancel the exchange (`*`, RFC 3501), read its
/// result, and report the server's behaviour; nothing else is tried.
async fn cancel_if_asked_again(s: &mut Session, tag: &str, t: Tagged) -> Result<Tagged, NetError> {
    if t.status != "+" {
        return Ok(t);
    }
    s.conn
        .send("*", "cancelling the AUTHENTICATE exchange")
        .await?;
    let _ = read_tagged(&mut s.conn, tag, "waiting for the cancelled login's result").await;
    Err(super::asked_again(&t.line))
}

/// AUTHENTICATE XOAUTH2 (with SASL-IR when offered). A `+` error challenge is
/// answered with an empty line to get the tagged result.
async fn xoauth2(
    s: &mut Session,
    tag: &str,
    payload: &str,
    sasl_ir: bool,
) -> Result<Tagged, NetError> {
    let t = if sasl_ir {
        let line = imap_proto::authenticate_command(tag, "XOAUTH2", Some(payload));
        let shown = imap_proto::authenticate_redacted(tag, "XOAUTH2", true);
        s.conn
            .send_secret(&line, &shown, "sending AUTHENTICATE")
            .await?;
        read_tagged(&mut s.conn, tag, "waiting for the login result").await?
    } else {
        two_step(s, tag, "XOAUTH2", payload).await?
    };
    if t.status != "+" {
        return Ok(t);
    }
    s.conn.send("", "answering the XOAUTH2 challenge").await?;
    read_tagged(&mut s.conn, tag, "waiting for the login result").await
}

/// AUTHENTICATE PLAIN without SASL-IR: wait for `+`, then the payload.
async fn two_step(
    s: &mut Session,
    tag: &str,
    mech: &str,
    payload: &str,
) -> Result<Tagged, NetError> {
    s.conn
        .send(
            &imap_proto::authenticate_redacted(tag, mech, false),
            "sending AUTHENTICATE",
        )
        .await?;
    let t = read_tagged(&mut s.conn, tag, "waiting for the continuation").await?;
    if t.status != "+" {
        return Ok(t);
    }
    s.conn
        .send_secret(payload, REDACTED, "sending the credentials")
        .await?;
    read_tagged(&mut s.conn, tag, "waiting for the login result").await
}

/// LOGIN as planned by `imap_proto::login_args`: quoted strings, or literals
/// (waiting for `+` unless LITERAL+) for what quoting cannot carry.
async fn login_command(s: &mut Session, tag: &str, plan: LoginPlan) -> Result<Tagged, NetError> {
    for line in &plan.lines {
        s.conn
            .send_bytes(&line.bytes, &line.redacted, "sending LOGIN")
            .await?;
        if line.wait_continuation {
            let t = read_tagged(&mut s.conn, tag, "waiting for the literal continuation").await?;
            if t.status != "+" {
                return Ok(t);
            }
        }
    }
    read_tagged(&mut s.conn, tag, "waiting for the login result").await
}
