//! The `tls` check: opens every endpoint whose protocol check runs, concurrently,
//! up to a verified TLS channel (implicit or STARTTLS), records the negotiated
//! version, cipher and certificate chain, and hands each live session to its
//! protocol check. Failures are classified: expired, not yet valid, wrong name,
//! untrusted issuer (TLS interception), protocol too old, wrong TLS mode, STARTTLS
//! missing, refused, timed out. A server guessed from the MX that does not answer
//! is no fault (the guess was wrong); when no guess answers, the servers were not
//! found. The greeting fingerprint of each server reached is handed on (the
//! tenant check and the report read it).

use super::{BoxFuture, Check, CheckResult, Ctx};
use crate::net::session::{open, OpenError, OpenOptions};
use crate::net::tls::TlsFailure;
use crate::vocab::{CheckId, Endpoint, Finding, Protocol, Severity, Status};
use std::sync::Arc;

pub struct Tls;

impl Check for Tls {
    fn id(&self) -> CheckId {
        CheckId::Tls
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns]
    }
    fn describe(&self) -> &'static str {
        "connect to each server and establish verified TLS (implicit or STARTTLS)"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(ctx))
    }
}

const PROTOCOLS: [Protocol; 3] = [Protocol::Smtp, Protocol::Imap, Protocol::Pop];

/// A line of evidence for one endpoint.
fn at(ep: &Endpoint) -> String {
    format!(
        "{} {}:{}",
        ep.protocol.as_str().to_ascii_uppercase(),
        ep.host,
        ep.port
    )
}

async fn run(ctx: &Ctx) -> CheckResult {
    let r = connect_all(ctx).await;
    // Whoever waits for the greetings is answered on every path.
    if ctx.shared.greetings.peek().is_none() {
        ctx.shared.greetings.set(Arc::new(Vec::new()));
    }
    r
}

/// Whether `e`, on an endpoint guessed from the MX, only says the guess was wrong.
fn guess_missed(ep: &Endpoint, e: &OpenError) -> bool {
    ep.source == "mx" && matches!(e.code(), "TCP_REFUSED" | "TCP_TIMEOUT")
}

async fn connect_all(ctx: &Ctx) -> CheckResult {
    // Endpoints whose protocol check runs; the others get an answer at once.
    let wanted: Vec<&Endpoint> = ctx
        .target
        .endpoints
        .iter()
        .filter(|e| ctx.selected.contains(&e.protocol.check_id()))
        .collect();
    for p in PROTOCOLS {
        if !wanted.iter().any(|e| e.protocol == p) {
            ctx.shared.give_session(
                p,
                Err(format!(
                    "no {} endpoint to test",
                    p.as_str().to_ascii_uppercase()
                )),
            );
        }
    }
    if wanted.is_empty() {
        return CheckResult::skip("no endpoint to connect to");
    }
    let addresses = ctx.shared.addresses.get().await;
    let opts = OpenOptions {
        timeout: ctx.net.timeout,
        extra_roots: &ctx.net.extra_roots,
        allow_plaintext: ctx.net.allow_plaintext,
        transcript: ctx.transcript.clone(),
    };
    let runs = wanted.iter().map(|ep| {
        let addresses = addresses.clone();
        let opts = &opts;
        async move {
            let addrs = match addresses.get(&ep.host) {
                Some(Ok(a)) => a.clone(),
                Some(Err(e)) => {
                    let why = format!("{} could not be resolved: {e}", ep.host);
                    ctx.shared.give_session(ep.protocol, Err(why.clone()));
                    return (ep, Err(None), why, None);
                }
                None => {
                    let why = format!("{} was not resolved", ep.host);
                    ctx.shared.give_session(ep.protocol, Err(why.clone()));
                    return (ep, Err(None), why, None);
                }
            };
            match open(ep, &addrs, opts).await {
                Ok(s) => {
                    let info = s.tls.clone();
                    let note = match &info {
                        Some(i) => format!("{} {}", i.version, i.cipher),
                        None => "no TLS".to_string(),
                    };
                    let fp =
                        crate::knowledge::matcher::fingerprint(ctx.kb, ep.protocol, &s.greeting)
                            .map(str::to_string);
                    ctx.shared.give_session(ep.protocol, Ok(s));
                    (ep, Ok(info), note, Some(fp))
                }
                Err(e) => {
                    let why = describe(ep, &e);
                    ctx.shared.give_session(ep.protocol, Err(why.clone()));
                    (ep, Err(Some(e)), why, None)
                }
            }
        }
    });
    let results = futures::future::join_all(runs).await;
    let greetings: Vec<(Protocol, Option<String>)> = results
        .iter()
        .filter_map(|(ep, _, _, fp)| fp.clone().map(|fp| (ep.protocol, fp)))
        .collect();
    ctx.shared.greetings.set(Arc::new(greetings));
    let results: Vec<_> = results
        .into_iter()
        .map(|(ep, r, note, _)| (ep, r, note))
        .collect();

    let mut findings = Vec::new();
    let mut details = serde_json::Map::new();
    let mut ok = 0;
    let mut versions = Vec::new();
    let mut min_days: Option<i64> = None;
    for (ep, r, note) in &results {
        let key = ep.protocol.as_str().to_string();
        match r {
            Ok(Some(info)) => {
                ok += 1;
                if !versions.contains(&info.version) {
                    versions.push(info.version.clone());
                }
                if let Some(leaf) = info.chain.first() {
                    min_days =
                        Some(min_days.map_or(leaf.days_left, |d: i64| d.min(leaf.days_left)));
                    let severity = if leaf.days_left <= ctx.net.critical_days {
                        Some(Severity::Critical)
                    } else if leaf.days_left <= ctx.net.warning_days {
                        Some(Severity::Warning)
                    } else {
                        None
                    };
                    if let Some(sev) = severity {
                        findings.push(
                            Finding::new(
                                "TLS_CERT_EXPIRING",
                                sev,
                                format!(
                                    "{}: the certificate ends on {}, in {} days",
                                    at(ep),
                                    leaf.not_after,
                                    leaf.days_left
                                ),
                            )
                            .with_evidence(leaf.subject.clone()),
                        );
                    }
                }
                details.insert(key, serde_json::json!({ "endpoint": format!("{}:{}", ep.host, ep.port), "mode": ep.tls, "tls": info }));
            }
            Ok(None) => {
                ok += 1;
                findings.push(Finding::new(
                    "STARTTLS_MISSING",
                    Severity::Critical,
                    format!("{} offers no STARTTLS: the login was tested WITHOUT encryption (--allow-plaintext)", at(ep)),
                ));
                details.insert(key, serde_json::json!({ "endpoint": format!("{}:{}", ep.host, ep.port), "mode": "none" }));
            }
            Err(None) => {
                details.insert(key, serde_json::json!({ "endpoint": format!("{}:{}", ep.host, ep.port), "error": note }));
            }
            Err(Some(e)) => {
                findings.push(finding(ctx, ep, e, note));
                let mut d = serde_json::json!({ "endpoint": format!("{}:{}", ep.host, ep.port), "mode": ep.tls, "error": note });
                if let OpenError::Tls { chain, .. } = e {
                    d["presented_chain"] = serde_json::json!(chain);
                }
                details.insert(key, d);
            }
        }
    }
    let summary = if ok == results.len() {
        let mut s = if versions.is_empty() {
            format!("{ok} connected")
        } else {
            format!("{} on {ok} of {}", versions.join("/"), results.len())
        };
        if let Some(d) = min_days {
            s.push_str(&format!("; certificates valid {d} more days"));
        }
        s
    } else {
        let failed: Vec<&str> = results
            .iter()
            .filter(|(_, r, _)| r.is_err())
            .map(|(_, _, n)| n.as_str())
            .collect();
        let lead = if ok > 0 && !versions.is_empty() {
            format!("{} on {ok} of {}; ", versions.join("/"), results.len())
        } else {
            String::new()
        };
        format!("{lead}{}", failed.join("; "))
    };
    let guessed = results.iter().all(|(ep, _, _)| ep.source == "mx");
    if ok == 0 && guessed {
        let tried: Vec<String> = results.iter().map(|(ep, _, _)| at(ep)).collect();
        findings.push(Finding::new(
            "SERVERS_NOT_FOUND",
            Severity::Warning,
            format!(
                "the domain publishes no server settings, and no server answers on the MX host's standard ports ({})",
                tried.join(", ")
            ),
        ));
    }
    let status = if findings.iter().all(|f| f.severity == Severity::Info) && ok < results.len() {
        // Nothing wrong was found: an unresolved host is the dns check's finding, a
        // missed guess is none.
        if ok > 0 && results.iter().all(|(_, r, _)| !matches!(r, Err(None))) {
            Status::Pass
        } else {
            Status::Skip
        }
    } else {
        CheckResult::status_from(&findings)
    };
    CheckResult::new(status, summary)
        .with_findings(findings)
        .with_details(serde_json::Value::Object(details))
}

fn describe(ep: &Endpoint, e: &OpenError) -> String {
    let where_ = at(ep);
    match e {
        OpenError::Connect { why, .. } => format!("{where_}: {why}"),
        OpenError::Net(n) => format!("{where_}: {n}"),
        OpenError::Tls { failure, why, chain } => {
            let leaf = chain.first();
            match failure {
                TlsFailure::Expired => format!(
                    "{where_}: the certificate expired on {}",
                    leaf.map(|c| c.not_after.as_str()).unwrap_or("an earlier date")
                ),
                TlsFailure::NotYetValid => format!(
                    "{where_}: the certificate is not valid before {} (check this computer's clock)",
                    leaf.map(|c| c.not_before.as_str()).unwrap_or("a later date")
                ),
                TlsFailure::HostnameMismatch => format!(
                    "{where_}: the certificate is for {}, not {}",
                    leaf.map(|c| c.sans.join(", ")).unwrap_or_default(),
                    ep.host
                ),
                TlsFailure::Untrusted => format!(
                    "{where_}: the certificate is issued by \"{}\", which this computer does not trust (antivirus or a proxy that intercepts TLS is a common cause)",
                    chain.last().map(|c| c.issuer.as_str()).unwrap_or("an unknown issuer")
                ),
                TlsFailure::ProtocolTooOld => format!("{where_}: {why}"),
                TlsFailure::NotTls => format!(
                    "{where_}: the server speaks plaintext first, so this port needs STARTTLS, not implicit TLS ({})",
                    starttls_hint(ep.protocol)
                ),
                TlsFailure::Timeout => format!("{where_}: {why}"),
                TlsFailure::Closed => format!("{where_}: {why}"),
                TlsFailure::Other(w) => format!("{where_}: TLS handshake failed: {w}"),
            }
        }
        OpenError::StartTlsMissing { .. } => format!(
            "{where_}: STARTTLS is not offered, so the password was not sent (it would travel unencrypted)"
        ),
        OpenError::Rejected { reply } => format!("{where_}: the server refused: {reply}"),
        OpenError::ImplicitTlsPort => format!(
            "{where_}: the port speaks TLS at once (implicit TLS); {}",
            implicit_hint(ep.protocol)
        ),
    }
}

fn starttls_hint(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "587 needs STARTTLS, 465 needs implicit TLS",
        Protocol::Imap => "143 needs STARTTLS, 993 needs implicit TLS",
        Protocol::Pop => "110 needs STLS, 995 needs implicit TLS",
    }
}

fn implicit_hint(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => {
            "465 needs implicit TLS, 587 needs STARTTLS: set the client to SSL/TLS or use 587"
        }
        Protocol::Imap => "993 needs implicit TLS: set the client to SSL/TLS",
        Protocol::Pop => "995 needs implicit TLS: set the client to SSL/TLS",
    }
}

fn finding(ctx: &Ctx, ep: &Endpoint, e: &OpenError, why: &str) -> Finding {
    let code = e.code();
    if guess_missed(ep, e) {
        return Finding::new(
            code,
            Severity::Info,
            format!("{why} (a guess from the MX record: nothing is offered there)"),
        );
    }
    let mut evidence = None;
    if let OpenError::Rejected { reply } = e {
        // A refusal before login (Exchange's 421 4.7.66 on old TLS, a blocked
        // client's 554) may be known to the knowledge base.
        let known = super::reply_finding(ctx, ep.protocol, reply, None, code);
        return Finding::new(&known.code, known.severity, why.to_string())
            .with_evidence(reply.clone());
    }
    if let OpenError::StartTlsMissing { caps } = e {
        evidence = Some(format!("advertised: {}", caps.join(" ")));
    }
    let f = Finding::new(code, Severity::Critical, why.to_string());
    match evidence {
        Some(ev) => f.with_evidence(ev),
        None => f,
    }
}
