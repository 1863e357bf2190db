//! The `pop` check: CAPA after TLS, then ONE login (AUTH PLAIN when SASL PLAIN is
//! offered, else USER/PASS), then STAT to prove access, QUIT.

use super::{reply_finding, BoxFuture, Check, CheckId, CheckResult, Ctx, Finding, Status};
use crate::knowledge::{Protocol, Severity};
use crate::net::conn::NetError;
use crate::net::pop::{read_multiline, read_status, Status as PopStatus};
use crate::net::session::Session;
use base64::Engine as _;
use zeroize::Zeroizing;

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

fn net_fail(e: NetError) -> CheckResult {
    CheckResult::new(Status::Fail, e.to_string()).with_findings(vec![Finding::new(
        e.code(),
        Severity::Critical,
        e.to_string(),
    )])
}

async fn run(ctx: &Ctx) -> CheckResult {
    let mut s = match ctx.shared.take_session(Protocol::Pop).await {
        Ok(s) => s,
        Err(why) => return CheckResult::skip(why),
    };
    let fp = crate::explain::fingerprint(ctx.kb, Protocol::Pop, &s.greeting).map(str::to_string);
    let mut details = serde_json::json!({
        "greeting": s.greeting,
        "fingerprint": fp,
        "capabilities_before_tls": s.pre_tls_caps,
    });
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
    let Some(secret) = &ctx.secret else {
        return CheckResult::new(Status::Pass, "login not tested (no password)");
    };
    let sasl_plain = s.caps.iter().any(|c| {
        let u = c.to_ascii_uppercase();
        u.starts_with("SASL ") && u.split_whitespace().any(|m| m == "PLAIN")
    });
    let user = ctx.target.user.as_str();
    let (mech, result) = if sasl_plain {
        ("AUTH PLAIN", auth_plain(s, user, secret.expose()).await)
    } else {
        ("USER/PASS", user_pass(s, user, secret.expose()).await)
    };
    details["auth_mechanism"] = serde_json::json!(mech);
    let st = match result {
        Ok(st) => st,
        Err(e) => return net_fail(e),
    };
    if !st.ok {
        let f = reply_finding(ctx, Protocol::Pop, &st.line, fp, "BAD_CREDENTIALS");
        let summary = format!("{mech} refused: {}", crate::net::smtp::excerpt(&st.line));
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

/// AUTH PLAIN in two steps (`AUTH PLAIN`, `+`, payload): Exchange Online wants the
/// payload on its own line.
async fn auth_plain(s: &mut Session, user: &str, password: &str) -> Result<PopStatus, NetError> {
    s.conn.send("AUTH PLAIN", "sending AUTH PLAIN").await?;
    let st = read_status(&mut s.conn, "waiting for the continuation").await?;
    if !(st.ok && st.line.starts_with('+') && !st.line.to_ascii_uppercase().starts_with("+OK")) {
        return Ok(st);
    }
    let mut payload = Zeroizing::new(Vec::new());
    payload.push(0);
    payload.extend_from_slice(user.as_bytes());
    payload.push(0);
    payload.extend_from_slice(password.as_bytes());
    let b = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&payload[..]));
    s.conn
        .send_secret(&b, "<redacted>", "sending the credentials")
        .await?;
    read_status(&mut s.conn, "waiting for the login result").await
}

async fn user_pass(s: &mut Session, user: &str, password: &str) -> Result<PopStatus, NetError> {
    s.conn.send(&format!("USER {user}"), "sending USER").await?;
    let st = read_status(&mut s.conn, "waiting for the USER reply").await?;
    if !st.ok {
        return Ok(st);
    }
    let line = Zeroizing::new(format!("PASS {password}"));
    s.conn
        .send_secret(&line, "PASS <redacted>", "sending PASS")
        .await?;
    read_status(&mut s.conn, "waiting for the login result").await
}
