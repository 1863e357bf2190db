//! The `pop` check: CAPA after TLS, then ONE login (AUTH PLAIN when SASL PLAIN is
//! offered, else USER/PASS), then STAT to prove access, QUIT.

use super::{net_fail, reply_finding, token_refusal, BoxFuture, Check, CheckResult, Ctx};
use crate::net::conn::NetError;
use crate::net::pop::{read_multiline, read_status, Status as PopStatus};
use crate::net::pop_proto::{self, Capa};
use crate::net::sasl;
use crate::net::session::Session;
use crate::secret::REDACTED;
use crate::vocab::{CheckId, Protocol, Status};

pub struct Pop;

impl Check for Pop {
    fn id(&self) -> CheckId {
        CheckId::Pop
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns, CheckId::Tls]
    }
    fn describe(&self) -> &'static str {
        "POP3: one login over TLS, then STAT to prove access"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(ctx))
    }
}

async fn run(ctx: &Ctx) -> CheckResult {
    let mut s = match ctx.shared.take_session(Protocol::Pop).await {
        Ok(s) => s,
        Err(why) => return CheckResult::skip(why),
    };
    let (fp, mut details) = super::session_facts(ctx, Protocol::Pop, &s);
    let r = login(ctx, &mut s, fp.as_deref(), &mut details).await;
    s.conn.farewell("QUIT").await;
    r.with_details(details)
}

async fn login(
    ctx: &Ctx,
    s: &mut Session,
    fp: Option<&str>,
    details: &mut serde_json::Value,
) -> CheckResult {
    if s.caps.is_empty() {
        if let Err(e) = s.conn.send("CAPA", "asking for capabilities").await {
            return net_fail(e);
        }
        match read_status(&mut s.conn, "waiting for CAPA").await {
            Ok(st) if st.ok => match read_multiline(&mut s.conn, "reading CAPA").await {
                Ok(lines) => s.caps = lines,
                Err(e) => return net_fail(e),
            },
            Ok(_) => {}
            Err(e) => return net_fail(e),
        }
    }
    details["capabilities"] = serde_json::json!(s.caps);
    if ctx.secret.is_some() || ctx.token.is_some() {
        if let Err(withheld) = super::gate::credentials(ctx, s) {
            return withheld;
        }
    }
    let user = ctx.target.user.as_str();
    let sasl = Capa::parse(&s.caps).sasl;
    let (mech, result) = if let Some(token) = &ctx.token {
        if !sasl.iter().any(|m| m == "XOAUTH2") {
            return super::xoauth2_not_offered(
                "the server does not offer SASL XOAUTH2; the token was not sent",
                format!("CAPA {}", s.caps.join(" / ")),
            );
        }
        (
            "AUTH XOAUTH2",
            auth_xoauth2(s, user, token.expose()).await.map(Ok),
        )
    } else {
        let Some(secret) = &ctx.secret else {
            return CheckResult::new(Status::Pass, ctx.login_not_tested());
        };
        if sasl.iter().any(|m| m == "PLAIN") {
            (
                "AUTH PLAIN",
                auth_plain(s, user, secret.expose()).await.map(Ok),
            )
        } else {
            ("USER/PASS", user_pass(s, user, secret.expose()).await)
        }
    };
    details["auth_mechanism"] = serde_json::json!(mech);
    let st = match result {
        Ok(Ok(st)) => st,
        Ok(Err(why)) => {
            return CheckResult::skip(format!("login not sent: {why} (USER/PASS cannot carry it)"))
        }
        Err(e) => return net_fail(e),
    };
    if !st.ok {
        let f = if ctx.token.is_some() {
            token_refusal(ctx, Protocol::Pop, &st.line, fp)
        } else {
            reply_finding(ctx, Protocol::Pop, &st.line, fp, "BAD_CREDENTIALS")
        };
        let summary = format!("{mech} refused: {}", crate::net::excerpt(&st.line));
        return CheckResult::new(CheckResult::status_from(std::slice::from_ref(&f)), summary)
            .with_findings(vec![f]);
    }
    if let Err(e) = s.conn.send("STAT", "sending STAT").await {
        return net_fail(e);
    }
    match read_status(&mut s.conn, "waiting for STAT").await {
        Ok(st) if st.ok => {
            CheckResult::new(Status::Pass, format!("{mech} accepted; STAT: {}", st.line))
        }
        Ok(st) => {
            let f = reply_finding(ctx, Protocol::Pop, &st.line, fp, "SERVER_PROTOCOL_ERROR");
            CheckResult::new(
                Status::Fail,
                format!("login accepted but STAT failed: {}", st.line),
            )
            .with_findings(vec![f])
        }
        Err(e) => net_fail(e),
    }
}

/// AUTH PLAIN in two steps (`AUTH PLAIN`, `+`, payload): Exchange Online refuses
/// an initial response on the command line for XOAUTH2, so PLAIN is not risked.
async fn auth_plain(s: &mut Session, user: &str, password: &str) -> Result<PopStatus, NetError> {
    s.conn.send("AUTH PLAIN", "sending AUTH PLAIN").await?;
    let st = read_status(&mut s.conn, "waiting for the continuation").await?;
    if !st.is_continuation() {
        return Ok(st);
    }
    let payload = sasl::plain_initial(user, password);
    s.conn
        .send_secret(&payload, REDACTED, "sending the credentials")
        .await?;
    let st = read_status(&mut s.conn, "waiting for the login result").await?;
    if !st.is_continuation() {
        return Ok(st);
    }
    // Another challenge after the credentials: cancel (`*`, RFC 5034) rather than
    // let the next line count as a second attempt.
    s.conn.send("*", "cancelling the AUTH exchange").await?;
    let _ = read_status(&mut s.conn, "waiting for the cancelled login's result").await;
    Err(super::asked_again(&st.line))
}

/// AUTH XOAUTH2 in two steps, as Exchange Online requires (`AUTH XOAUTH2`, `+`,
/// the payload on its own line); an error challenge is answered with an empty line.
async fn auth_xoauth2(s: &mut Session, user: &str, token: &str) -> Result<PopStatus, NetError> {
    s.conn.send("AUTH XOAUTH2", "sending AUTH XOAUTH2").await?;
    let st = read_status(&mut s.conn, "waiting for the continuation").await?;
    if !st.is_continuation() {
        return Ok(st);
    }
    let payload = sasl::xoauth2(user, token);
    s.conn
        .send_secret(&payload, REDACTED, "sending the token")
        .await?;
    let st = read_status(&mut s.conn, "waiting for the login result").await?;
    if !st.is_continuation() {
        return Ok(st);
    }
    s.conn.send("", "answering the XOAUTH2 challenge").await?;
    read_status(&mut s.conn, "waiting for the login result").await
}

/// USER then PASS; `Ok(Err(why))` when the user name or password cannot travel
/// on a POP3 command line at all (a line break or NUL), so nothing was sent.
async fn user_pass(
    s: &mut Session,
    user: &str,
    password: &str,
) -> Result<Result<PopStatus, String>, NetError> {
    let (user_line, pass_line) = match (
        pop_proto::user_command(user),
        pop_proto::pass_command(password),
    ) {
        (Ok(u), Ok(p)) => (u, p),
        (Err(e), _) | (_, Err(e)) => return Ok(Err(e.to_string())),
    };
    s.conn.send(&user_line, "sending USER").await?;
    let st = read_status(&mut s.conn, "waiting for the USER reply").await?;
    if !st.ok {
        return Ok(Ok(st));
    }
    s.conn
        .send_secret(&pass_line, &pop_proto::pass_redacted(), "sending PASS")
        .await?;
    read_status(&mut s.conn, "waiting for the login result")
        .await
        .map(Ok)
}
