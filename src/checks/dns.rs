//! The `dns` check: resolves every endpoint host (A and AAAA) and the mailbox
//! domain's MX, SPF and autodiscover records, all concurrently, on the run's
//! resolver (discovery asked the MX on it before, so its cache answers). Each
//! endpoint host's addresses are handed to the connecting checks the moment that
//! host can be connected to (both its A and AAAA answers, or the first with
//! addresses and at most 50 ms more: RFC 8305's resolution delay), so one slow
//! look-up holds up no other server; the domain records only inform (provider detection, details), except
//! when nothing names a server to test: then a domain that does not exist is
//! DNS_NXDOMAIN, and one that names no server is SERVERS_NOT_FOUND.

use super::{BoxFuture, Check, CheckResult, Ctx};
use crate::checks::ctx::{DomainRecords, FinishOnDrop, HostAddresses};
use crate::net::resolver::{combine, DnsError, Resolver};
use crate::vocab::{CheckId, Finding, Severity};
use std::sync::Arc;
use std::time::Instant;

pub struct Dns;

impl Check for Dns {
    fn id(&self) -> CheckId {
        CheckId::Dns
    }
    fn needs(&self) -> &'static [CheckId] {
        &[]
    }
    fn describe(&self) -> &'static str {
        "resolve the servers (A/AAAA) and the domain's MX, SPF and autodiscover"
    }
    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(ctx))
    }
}

async fn run(ctx: &Ctx) -> CheckResult {
    let _finish = FinishOnDrop(&ctx.shared.addresses);
    let resolver = match ctx.common.resolver(&ctx.net) {
        Ok(r) => r,
        Err(e) => {
            ctx.shared.domain.set(Arc::new(DomainRecords::default()));
            return CheckResult::new(crate::vocab::Status::Error, e);
        }
    };
    // The endpoints some selected check will connect to; all of them when the dns
    // check runs on its own.
    let used = |e: &&crate::vocab::Endpoint| ctx.selected.contains(&e.protocol.check_id());
    let alone = !ctx.target.endpoints.iter().any(|e| used(&e));
    let mut hosts: Vec<String> = ctx
        .target
        .endpoints
        .iter()
        .filter(|e| alone || used(e))
        .map(|e| e.host.clone())
        .collect();
    hosts.sort();
    hosts.dedup();

    let endpoints = async {
        let started = Instant::now();
        let lookups = hosts.iter().map(|h| {
            let resolver = &resolver;
            async move {
                let t = Instant::now();
                let r = eyeballs(resolver, h, |addrs| ctx.shared.addresses.publish(h, addrs)).await;
                ctx.shared
                    .addresses
                    .publish(h, r.clone().map_err(|e| e.to_string()));
                (h.clone(), r, t.elapsed().as_millis() as u64)
            }
        });
        let results = futures::future::join_all(lookups).await;
        ctx.shared.addresses.finish();
        (results, started.elapsed().as_millis() as u64)
    };
    let domain = async {
        let d = ctx.target.domain.as_deref()?;
        let autodiscover = format!("autodiscover.{d}");
        let (mx, txt, cname) = tokio::join!(
            resolver.mx(d),
            resolver.txt(d),
            resolver.cname(&autodiscover)
        );
        Some((mx, txt, cname))
    };
    let ((results, endpoints_ms), domain) = tokio::join!(endpoints, domain);

    let mut findings = Vec::new();
    let mut host_details = serde_json::Map::new();
    let mut resolved = 0;
    for (host, r, ms) in &results {
        match r {
            Ok(addrs) => {
                resolved += 1;
                host_details.insert(
                    host.clone(),
                    serde_json::json!({ "addresses": addrs, "ms": ms }),
                );
            }
            Err(e) => {
                let uses: Vec<String> = ctx
                    .target
                    .endpoints
                    .iter()
                    .filter(|ep| &ep.host == host)
                    .map(|ep| ep.protocol.as_str().to_ascii_uppercase())
                    .collect();
                findings.push(
                    Finding::new(
                        e.code(),
                        Severity::Critical,
                        format!("{e}; the {} server cannot be reached", uses.join("/")),
                    )
                    .with_evidence(format!("asked {}", resolver.server)),
                );
                host_details.insert(
                    host.clone(),
                    serde_json::json!({ "error": e.to_string(), "ms": ms }),
                );
            }
        }
    }
    let mut records = DomainRecords::default();
    let mut domain_notes = serde_json::Map::new();
    if let Some((mx, txt, cname)) = domain {
        match mx {
            Ok(v) => records.mx = v,
            Err(e) => {
                domain_notes.insert("mx_error".into(), e.to_string().into());
            }
        }
        match txt {
            Ok(v) => {
                records.spf = v
                    .into_iter()
                    .filter(|t| t.to_ascii_lowercase().starts_with("v=spf1"))
                    .collect()
            }
            Err(e) => {
                domain_notes.insert("txt_error".into(), e.to_string().into());
            }
        }
        match cname {
            Ok(v) => records.autodiscover = v,
            Err(e) => {
                domain_notes.insert("autodiscover_error".into(), e.to_string().into());
            }
        }
    }
    // Set on every path: the tenant check may be waiting for the MX.
    ctx.shared.domain.set(Arc::new(records.clone()));
    let mx_provider = crate::knowledge::provider_for_mx(ctx.kb, &records.mx);
    if let Some(f) = mx_mismatch(ctx, mx_provider.as_deref(), &records) {
        findings.push(f);
    }
    if ctx.target.endpoints.is_empty() {
        findings.push(nothing_to_test(ctx, domain_notes.get("mx_error")));
    }

    let mut summary = if hosts.is_empty() {
        "no server to resolve".to_string()
    } else {
        format!(
            "{resolved} of {} hosts resolved in {endpoints_ms} ms",
            hosts.len()
        )
    };
    if let Some((_, best)) = records.mx.first() {
        summary.push_str(&format!("; MX {best}"));
    } else if let Some(e) = domain_notes.get("mx_error").and_then(|e| e.as_str()) {
        summary.push_str(&format!("; MX: {e}"));
    } else if ctx.target.domain.is_some() {
        summary.push_str("; no MX");
    }
    let mut details = serde_json::json!({
        "provider_from_mx": mx_provider,
        "server": resolver.server,
        "hosts": host_details,
        "domain": records,
    });
    if let (Some(obj), false) = (details.as_object_mut(), domain_notes.is_empty()) {
        obj.insert(
            "domain_errors".into(),
            serde_json::Value::Object(domain_notes),
        );
    }
    CheckResult::new(CheckResult::status_from(&findings), summary)
        .with_findings(findings)
        .with_details(details)
}

/// No server named, none published, none guessed: why, in the domain's words.
fn nothing_to_test(ctx: &Ctx, mx_error: Option<&serde_json::Value>) -> Finding {
    let Some(domain) = ctx.target.domain.as_deref() else {
        return Finding::new(
            "SERVERS_NOT_FOUND",
            Severity::Warning,
            "the user name has no domain to find servers for, and no server was given (--smtp, --imap, --pop)",
        );
    };
    let nx = mx_error
        .and_then(|e| e.as_str())
        .is_some_and(|e| e.contains("NXDOMAIN"));
    if nx {
        return Finding::new(
            "DNS_NXDOMAIN",
            Severity::Critical,
            format!("the mail domain {domain} does not exist (NXDOMAIN), so no server can hold this mailbox"),
        );
    }
    let asked: Vec<String> = ctx
        .target
        .discovery
        .iter()
        .flat_map(|d| d.steps.iter())
        .map(|s| format!("{}: {}", s.source.to_ascii_uppercase(), s.detail))
        .collect();
    let f = Finding::new(
        "SERVERS_NOT_FOUND",
        Severity::Warning,
        format!("nothing names the mail servers of {domain}, and no server was given"),
    );
    if asked.is_empty() {
        f
    } else {
        f.with_evidence(asked.join(" | "))
    }
}

/// The domain's MX says its mail is elsewhere than the servers being tested: another
/// provider (NOT_MICROSOFT_365), or Microsoft 365 in a national cloud. The servers
/// tested are Microsoft's by the provider, or by the names of the servers given.
fn mx_mismatch(ctx: &Ctx, found: Option<&str>, records: &DomainRecords) -> Option<Finding> {
    let found = found?;
    let by_server = ctx
        .target
        .endpoints
        .iter()
        .find_map(|e| crate::knowledge::provider_for_server(ctx.kb, &e.host))
        .filter(|p| p.starts_with("microsoft365"));
    let tested = if ctx.target.provider.starts_with("microsoft365") {
        ctx.target.provider.as_str()
    } else {
        by_server.as_deref()?
    };
    if !tested.starts_with("microsoft365") || found == tested {
        return None;
    }
    let name = ctx
        .kb
        .provider(found)
        .map(|p| p.name.as_str())
        .unwrap_or(found);
    let mx = records
        .mx
        .first()
        .map(|(_, h)| h.as_str())
        .unwrap_or_default();
    let domain = ctx.target.domain.as_deref().unwrap_or_default();
    let (code, severity) = if found.starts_with("microsoft365") {
        ("SOVEREIGN_CLOUD_ENDPOINT", Severity::Critical)
    } else {
        ("NOT_MICROSOFT_365", Severity::Warning)
    };
    Some(
        Finding::new(
            code,
            severity,
            format!(
                "mail for {domain} is handled by {name} (MX {mx}), but the test used {}'s servers; try --provider {found}",
                ctx.kb.provider(tested).map(|p| p.name.as_str()).unwrap_or(tested)
            ),
        )
        .with_evidence(format!("MX {mx}")),
    )
}

/// How long the first answer with addresses (A or AAAA) waits for the other
/// before its addresses are handed on alone (RFC 8305 section 3, "Resolution
/// Delay": 50 ms).
pub const RESOLUTION_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Resolves `host` (A and AAAA at once) and calls `ready` as soon as a connection
/// can start: 50 ms after the first answer with addresses when the other is
/// still out (RFC 8305's resolution delay, for either family, so that one
/// family's answer alone is handed on only when the other is late). When both
/// answer in time, the caller hands on the whole. Returns all it found, for the
/// report.
async fn eyeballs(
    resolver: &Resolver,
    host: &str,
    ready: impl Fn(HostAddresses),
) -> Result<Vec<std::net::IpAddr>, DnsError> {
    let v4 = resolver.family(host, false);
    let v6 = resolver.family(host, true);
    tokio::pin!(v4, v6);
    let (mut r4, mut r6) = (None, None);
    let mut wait: Option<tokio::time::Instant> = None;
    let mut handed = false;
    let usable = |r: &Option<Result<Vec<std::net::IpAddr>, DnsError>>| {
        r.as_ref()
            .and_then(|r| r.as_ref().ok())
            .cloned()
            .unwrap_or_default()
    };
    while r4.is_none() || r6.is_none() {
        let delay = async {
            match wait {
                Some(at) if !handed => tokio::time::sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            r = &mut v4, if r4.is_none() => r4 = Some(r),
            r = &mut v6, if r6.is_none() => r6 = Some(r),
            _ = delay => {
                // IPv4 first, as when both have answered (`combine`).
                let mut known = usable(&r4);
                known.extend(usable(&r6));
                ready(Ok(known));
                handed = true;
            }
        }
        if wait.is_none() && !(usable(&r4).is_empty() && usable(&r6).is_empty()) {
            wait = Some(tokio::time::Instant::now() + RESOLUTION_DELAY);
        }
    }
    let none = || {
        Err(DnsError::Other {
            name: host.to_string(),
            rtype: "A or AAAA".into(),
            why: "no answer".into(),
        })
    };
    combine(host, r4.unwrap_or_else(none), r6.unwrap_or_else(none))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::dns::{Behaviour, DnsServer, Rec, Zone};
    use std::net::IpAddr;

    /// Runs `eyeballs` for `host`; whether `ready` was called before the look-up
    /// ended (here that means before the silent family's timeout), with what,
    /// and what the look-up found in the end.
    async fn resolve(zone: Zone, host: &str) -> (Option<HostAddresses>, Vec<IpAddr>) {
        let server = DnsServer::start(zone).await.expect("dns");
        let resolver = Resolver::new(Some(server.addr()), std::time::Duration::from_secs(2))
            .expect("resolver");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let lookup = eyeballs(&resolver, host, move |a| {
            let _ = tx.send(a);
        });
        tokio::pin!(lookup);
        tokio::select! {
            biased;
            r = rx.recv() => (r, lookup.await.unwrap_or_default()),
            all = &mut lookup => (None, all.unwrap_or_default()),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[tokio::test]
    async fn one_family_is_handed_on_alone_when_the_other_is_silent() {
        let v4 = Rec::Ip(ip("127.0.0.1"));
        let v6 = Rec::Ip(ip("::1"));
        for (silent, kept) in [("AAAA", "127.0.0.1"), ("A", "::1")] {
            let zone = Zone::new().set(
                "mail.test",
                Behaviour::SilentFor(silent, vec![v4.clone(), v6.clone()]),
            );
            let (early, all) = resolve(zone, "mail.test").await;
            assert_eq!(early, Some(Ok(vec![ip(kept)])), "{silent} silent");
            assert_eq!(all, vec![ip(kept)], "{silent} silent");
        }
    }

    #[tokio::test]
    async fn both_families_that_answer_go_on_together() {
        let zone = Zone::new()
            .add("mail.test", Rec::Ip(ip("::1")))
            .add("mail.test", Rec::Ip(ip("127.0.0.1")));
        let (early, all) = resolve(zone, "mail.test").await;
        // Both answered within the resolution delay: nothing was handed on
        // alone; the caller hands on the whole, IPv4 first.
        assert_eq!(early, None);
        assert_eq!(all, vec![ip("127.0.0.1"), ip("::1")]);
    }
}
