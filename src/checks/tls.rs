//! The `tls` check: opens every endpoint whose protocol check runs, concurrently,
//! up to a verified TLS channel (implicit or STARTTLS), records the negotiated
//! version, cipher and certificate chain, and hands each live session to its
//! protocol check. Failures are classified: expired, not yet valid, wrong name,
//! untrusted issuer (TLS interception), protocol too old, wrong TLS mode, STARTTLS
//! missing, refused, timed out. An accepted chain that this computer's store and
//! Mozilla's roots judge differently is reported too (a private or intercepting
//! root; an outdated local store). A server guessed from the MX that does not
//! answer is no fault (the guess was wrong); when no guess answers, the servers
//! were not found. The greeting fingerprint of each server reached is handed on
//! (the tenant check and the report read it).

use super::{BoxFuture, Check, CheckResult, Ctx};
use crate::net::session::{open, OpenError, OpenOptions};
use crate::net::tls::{TlsFailure, TlsInfo};
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
pub(super) fn at(ep: &Endpoint) -> String {
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
    let opts = OpenOptions {
        timeout: ctx.net.timeout,
        extra_roots: &ctx.net.extra_roots,
        allow_plaintext: ctx.net.allow_plaintext,
        transcript: ctx.transcript.clone(),
        scrub: ctx.scrub.clone(),
    };
    let runs = wanted.iter().map(|ep| {
        let opts = &opts;
        async move {
            // Each connection starts as soon as its own host has resolved.
            let addrs = match ctx.shared.addresses.get(&ep.host).await {
                Some(Ok(a)) => a,
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
                    // A greeting before a failed STARTTLS still says who answered.
                    let fp = match &e {
                        OpenError::Tls {
                            greeting: Some(g), ..
                        } => Some(
                            crate::knowledge::matcher::fingerprint(ctx.kb, ep.protocol, g)
                                .map(str::to_string),
                        ),
                        _ => None,
                    };
                    (ep, Err(Some(e)), why, fp)
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
                let store = crate::net::trust::system_store();
                findings.extend(trust_finding(
                    ep,
                    info,
                    store.roots,
                    store.problem.as_deref(),
                ));
                details.insert(key, serde_json::json!({ "endpoint": format!("{}:{}", ep.host, ep.port), "mode": ep.tls, "tls": info }));
            }
            Ok(None) => {
                ok += 1;
                findings.push(cleartext_finding(ep, ctx.net.allow_plaintext));
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
    } else if findings.iter().any(|f| f.code == LOCAL)
        && findings.iter().all(|f| f.severity != Severity::Critical)
    {
        // Only this machine failed: nothing was learned about the servers, so
        // the run cannot say they are down (UNKNOWN, not CRITICAL).
        Status::Error
    } else {
        CheckResult::status_from(&findings)
    };
    CheckResult::new(status, summary)
        .with_findings(findings)
        .with_details(serde_json::Value::Object(details))
}

/// A session without TLS: the settings say so (no TLS), or the server offers no
/// STARTTLS and `--allow-plaintext` let the session go on. Whether a login then
/// crosses it is `checks::gate`'s decision; this says which it will be.
fn cleartext_finding(ep: &Endpoint, allowed: bool) -> Finding {
    let login = if allowed {
        "--allow-plaintext lets a login cross it WITHOUT encryption"
    } else {
        "no login is sent over it without --allow-plaintext"
    };
    if ep.tls == crate::vocab::TlsMode::None {
        let from = match ep.source {
            "autoconfig" => "the domain's autoconfig document sets it",
            "flag" => "as you set it",
            _ => "as discovered",
        };
        Finding::new(
            "PLAINTEXT_SETTINGS",
            Severity::Critical,
            format!("{} uses no encryption ({from}): {login}", at(ep)),
        )
    } else {
        Finding::new(
            "STARTTLS_MISSING",
            Severity::Critical,
            format!("{} offers no STARTTLS: {login}", at(ep)),
        )
    }
}

fn describe(ep: &Endpoint, e: &OpenError) -> String {
    let where_ = at(ep);
    match e {
        OpenError::Connect { why, .. } => format!("{where_}: {why}"),
        OpenError::Net(n) => format!("{where_}: {n}"),
        OpenError::Tls {
            failure, why, chain, ..
        } => {
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
                TlsFailure::CaAsServerCert => format!(
                    "{where_}: the server presents a CA certificate (\"{}\", CA:TRUE) as its own, typically a self-signed one, which no mail client accepts; the server needs a certificate for its name signed by a trusted CA",
                    leaf.map(|c| c.subject.as_str()).unwrap_or("unnamed")
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

/// What it means when this computer's trust store (`store_roots` roots, read with
/// `store_problem`) and Mozilla's roots disagree about an accepted chain. A chain
/// only `--ca-file` vouches for says nothing: the user named that root.
pub fn trust_finding(
    ep: &Endpoint,
    info: &TlsInfo,
    store_roots: usize,
    store_problem: Option<&str>,
) -> Option<Finding> {
    let v = info.trusted_by;
    let root = info
        .chain
        .last()
        .map(|c| c.issuer.as_str())
        .unwrap_or("an unnamed root");
    let evidence = format!("issuer: {root}; this computer's store holds {store_roots} roots");
    if v.system && !v.public {
        let message = format!(
            "{}: the certificate is trusted by this computer's store but not publicly: it leads to \"{root}\", a private CA or a device on this network that intercepts TLS; devices without that root (phones, printers, scanners) will refuse the server",
            at(ep)
        );
        // Files of the store that were not read are named all the same.
        let evidence = match store_problem {
            Some(p) => format!("{evidence}; {p}"),
            None => evidence,
        };
        return Some(
            Finding::new("TLS_PRIVATE_ROOT", Severity::Warning, message).with_evidence(evidence),
        );
    }
    if v.public && !v.system {
        let why = store_problem.map(|p| format!(" ({p})")).unwrap_or_default();
        // No store at all (a minimal container) is a fact about this machine, not
        // a damaged store: noted, not warned about.
        if store_roots == 0 {
            let message = format!(
                "{}: this computer has no trust store that could be read{why}; the certificate was verified against Mozilla's roots",
                at(ep)
            );
            return Some(
                Finding::new("TLS_LOCAL_STORE_OUTDATED", Severity::Info, message)
                    .with_evidence(evidence),
            );
        }
        let message = format!(
            "{}: the certificate leads to \"{root}\", a public root this computer's trust store does not hold{why}: the store is outdated or damaged, and mail clients here that use it will refuse the server",
            at(ep)
        );
        return Some(
            Finding::new("TLS_LOCAL_STORE_OUTDATED", Severity::Warning, message)
                .with_evidence(evidence),
        );
    }
    None
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

/// A connect that failed on this machine's open-file limit.
const LOCAL: &str = "LOCAL_TOO_MANY_OPEN_FILES";

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
    // This machine's own limit says nothing about the server.
    let severity = if code == LOCAL {
        Severity::Warning
    } else {
        Severity::Critical
    };
    let mut message = why.to_string();
    if code == "TLS_UNTRUSTED" {
        // A company CA in a store file that was never read explains it.
        if let Some(note) = crate::net::trust::system_store().skipped_note() {
            message.push_str(&format!("; this computer's {note}"));
        }
    }
    let f = Finding::new(code, severity, message);
    match evidence {
        Some(ev) => f.with_evidence(ev),
        None => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::CertInfo;
    use crate::net::trust::Verdicts;
    use crate::vocab::TlsMode;

    fn info(public: bool, system: bool, ca_file: bool) -> TlsInfo {
        let cert = |subject: &str, issuer: &str| CertInfo {
            subject: subject.into(),
            issuer: issuer.into(),
            sans: vec![],
            not_before: "2020-01-01".into(),
            not_after: "2099-01-01".into(),
            days_left: 9000,
        };
        TlsInfo {
            version: "TLS 1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            chain: vec![
                cert("CN=mail.contoso.test", "CN=Contoso Issuing CA"),
                cert("CN=Contoso Issuing CA", "CN=Contoso Root CA"),
            ],
            trusted_by: Verdicts {
                public,
                system,
                ca_file,
            },
        }
    }

    fn ep() -> Endpoint {
        Endpoint {
            protocol: Protocol::Imap,
            host: "mail.contoso.test".into(),
            port: 993,
            tls: TlsMode::Implicit,
            source: "flag",
        }
    }

    #[test]
    fn trusted_here_only_names_the_root_and_warns() {
        let f = trust_finding(&ep(), &info(false, true, false), 140, None).expect("finding");
        assert_eq!(
            (f.code.as_str(), f.severity),
            ("TLS_PRIVATE_ROOT", Severity::Warning)
        );
        assert!(
            f.message.contains("\"CN=Contoso Root CA\""),
            "{}",
            f.message
        );
        assert!(f.message.contains("printers"), "{}", f.message);
        // Also when --ca-file names the same root: devices elsewhere still lack it.
        let f = trust_finding(&ep(), &info(false, true, true), 140, None).expect("finding");
        assert_eq!(f.code, "TLS_PRIVATE_ROOT");
    }

    #[test]
    fn public_but_not_here_is_an_outdated_store_and_an_empty_store_only_a_note() {
        let f = trust_finding(&ep(), &info(true, false, false), 140, None).expect("finding");
        assert_eq!(
            (f.code.as_str(), f.severity),
            ("TLS_LOCAL_STORE_OUTDATED", Severity::Warning)
        );
        assert!(f.message.contains("outdated or damaged"), "{}", f.message);
        let f = trust_finding(
            &ep(),
            &info(true, false, false),
            0,
            Some("no certificate was found"),
        )
        .expect("finding");
        assert_eq!(
            (f.code.as_str(), f.severity),
            ("TLS_LOCAL_STORE_OUTDATED", Severity::Info)
        );
        assert!(
            f.message.contains("no certificate was found"),
            "{}",
            f.message
        );
    }

    #[test]
    fn agreeing_stores_or_a_ca_file_alone_say_nothing() {
        for (p, s, c) in [
            (true, true, false),
            (true, true, true),
            (false, false, true),
            (false, false, false),
        ] {
            assert_eq!(
                trust_finding(&ep(), &info(p, s, c), 140, None),
                None,
                "{p} {s} {c}"
            );
        }
    }
}
